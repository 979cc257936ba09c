//! Shared-memory regions (opcodes 0x06xx, issue 13): register the memfd that came with the
//! frame, release a region. Using them is the context handlers' business (`contexts`).

use warden_core::Error;
use warden_wire::Response;

use crate::request::{ConnState, Ctx};

pub(crate) fn register(state: &mut ConnState, ctx: &Ctx<'_, '_>, len: u64) -> Result<(), Error> {
    let region_id = state.regions.register(len, &*ctx.shared.provider)?;
    state.out.reply(&Response::RegionRegistered { region_id })
}

pub(crate) fn release(state: &mut ConnState, region_id: u64) -> Result<(), Error> {
    state.regions.release(region_id)?;
    state.out.reply(&Response::Done)
}

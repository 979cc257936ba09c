//! `warden`: the command-line interface to wardend.

#![forbid(unsafe_code)]
// Files and daemon replies reach this binary: no indexing or panics on them (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

mod advice;
mod args;
mod commands;
mod failure;
mod io;
mod keyfile;
mod pem;
mod report;

use std::process::ExitCode;

use clap::Parser;
use warden_client::{CryptoStack, StackConfig};

use crate::args::{Cli, Command, KemCommand, KeyCommand, MacCommand, ReceiptCommand};
use crate::commands::{certs, exchange, keys, local, ops, permits, receipt, session};
use crate::failure::Failure;
use crate::report::Report;

fn main() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help/--version.
    let cli = Cli::parse();
    match run(&cli) {
        Ok(report) => {
            report.print(cli.json);
            ExitCode::SUCCESS
        }
        Err(failure) => {
            if let Failure::Denied(report) = &failure {
                report.print(cli.json);
            } else if matches!(failure, Failure::VerifyFailed) {
                // The command already said what did not verify.
            } else if cli.json {
                let (code, value) = match &failure {
                    Failure::Daemon(code, _) => (Some(code.name()), Some(code.as_u32())),
                    _ => (None, None),
                };
                eprintln!(
                    "{}",
                    serde_json::json!({
                        "error": failure.to_string(),
                        "code": code,
                        "code_value": value,
                        "exit": failure.exit_code_value(),
                    })
                );
            } else {
                eprintln!("warden: {failure}");
            }
            failure.exit_code()
        }
    }
}

fn connect(cli: &Cli) -> Result<CryptoStack, Failure> {
    let mut config = StackConfig::new();
    if let Some(path) = &cli.socket {
        config = config.socket_path(path);
    }
    config = config.trusted_daemon_uids(cli.daemon_uids.iter().copied());
    CryptoStack::connect(config)
        .map_err(|e| advice::connect_failure(e, advice::SocketSource::of(cli)))
}

fn run(cli: &Cli) -> Result<Report, Failure> {
    // Offline commands first: they need no daemon.
    if let Command::Receipt(ReceiptCommand::Verify {
        input,
        key,
        alg,
        from_genesis,
        head,
    }) = &cli.command
    {
        let anchor = receipt::Anchor {
            from_genesis: *from_genesis || head.is_some(),
            head: *head,
        };
        return receipt::verify(input, key, alg, anchor);
    }
    match &cli.command {
        Command::Hash(a) => return local::hash(a, cli.json),
        Command::Algorithms => return Ok(local::algorithms()),
        Command::Generate(g) => return local::generate(g),
        Command::Verify(a) => {
            if let Some(pubkey) = &a.pubkey {
                return local::verify(a, pubkey, cli.json);
            }
        }
        _ => {}
    }
    // Arguments that can be checked locally are, before anything is sent.
    match &cli.command {
        Command::Key(KeyCommand::Generate(a)) => drop(keys::generate_params(a)?),
        Command::Key(KeyCommand::Import(a)) => drop(keys::parse_key_type(&a.alg)?),
        _ => {}
    }
    let stack = connect(cli)?;
    run_connected(cli, &stack).map_err(|f| advice::advise(cli, &stack, f))
}

fn run_connected(cli: &Cli, stack: &CryptoStack) -> Result<Report, Failure> {
    let json = cli.json;
    match &cli.command {
        Command::Ping => session::ping(stack),
        Command::Status => session::status(stack),
        Command::Providers => session::providers(stack),
        Command::Key(k) => match k {
            KeyCommand::Generate(a) => keys::generate(stack, a),
            KeyCommand::Import(a) => keys::import(stack, a),
            KeyCommand::List => keys::list(stack),
            KeyCommand::Public(a) => keys::public(stack, a, json),
            KeyCommand::Export(a) => keys::export(stack, a, json),
            KeyCommand::Delete(a) => keys::delete(stack, &a.slot),
            KeyCommand::Lock(a) => keys::set_locked(stack, &a.slot, true),
            KeyCommand::Unlock(a) => keys::set_locked(stack, &a.slot, false),
            KeyCommand::Grant(a) => keys::grant(stack, a),
            KeyCommand::Revoke(a) => keys::revoke(stack, a),
        },
        Command::Sign(a) => ops::sign(stack, a, json),
        Command::Verify(a) => match &a.slot {
            Some(slot) => ops::verify(stack, a, slot, json),
            None => Err(Failure::Usage("verify needs --slot or --pubkey".to_owned())),
        },
        Command::Encrypt(a) => ops::encrypt(stack, a, json),
        Command::Decrypt(a) => ops::decrypt(stack, a, json),
        Command::Mac(m) => match &m.command {
            Some(MacCommand::Verify(a)) => ops::mac_verify(stack, a, json),
            None => ops::mac(stack, &m.args, json),
        },
        Command::Agree(a) => exchange::agree(stack, a),
        // Answered above, before connecting: they need no daemon.
        Command::Hash(_) | Command::Algorithms | Command::Generate(_) => {
            Err(Failure::Internal("offline command reached the daemon path"))
        }
        Command::Random(a) => ops::random(stack, a, json),
        Command::Kem(KemCommand::Encap(a)) => exchange::encap(stack, a),
        Command::Kem(KemCommand::Decap(a)) => exchange::decap(stack, a),
        Command::Derive(a) => exchange::derive(stack, a),
        Command::Policy(c) => permits::policy(stack, c),
        Command::Trust(c) => permits::trust(stack, c),
        Command::Permit(args::PermitCommand::Issue(a)) => permits::issue(stack, a, json),
        Command::Permit(args::PermitCommand::Verify(a)) => permits::verify(stack, a),
        Command::Attest(c) => permits::attest(stack, c, json),
        Command::Cert(c) => certs::run(stack, c, json),
        Command::Receipt(ReceiptCommand::Export { out, from }) => {
            receipt::export(stack, out, *from)
        }
        // Answered above, before connecting: receipts verify offline.
        Command::Receipt(ReceiptCommand::Verify { .. }) => {
            Err(Failure::Usage("receipt verify runs offline".to_owned()))
        }
    }
}

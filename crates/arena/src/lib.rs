//! Fixed, pre-claimed session bump arena.

#![no_std]

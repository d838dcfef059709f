//! The social layer: who blocks or restricts whom (`blocks`), and contacts (`contacts`).

pub mod blocks;
pub mod contacts;

pub use blocks::{BlockSets, Blocks};
pub use contacts::Contacts;

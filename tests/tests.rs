//! The one integration-test binary: every module runs the real `trawl` binary or the library
//! against real local servers on loopback.

mod classify;
mod corpus;
mod crawl;
mod demo;
mod index;
mod review;
mod scan;
mod serve;
mod util;

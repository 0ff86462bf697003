//! The one integration-test binary: every module runs the real `trawl` binary or the library
//! against real local servers on loopback.

mod scan;
mod serve;
mod review;
mod index;
mod classify;
mod corpus;
mod util;

mod crawl;

//! The one integration-test binary: every module runs the real `trawl` binary or the library
//! against real local servers on loopback.

mod corpus;
mod crawl;
mod serve;
mod util;

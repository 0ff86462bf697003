//! Progress bars for long runs (indicatif on stderr). Hidden when stderr is not a terminal or
//! `TRAWL_NO_PROGRESS` is set, so logs and piped output stay clean.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::scan::ScanCounters;

/// Whether progress bars should be drawn.
pub fn enabled() -> bool {
    std::env::var_os("TRAWL_NO_PROGRESS").is_none() && std::io::stderr().is_terminal()
}

/// A ticking status line; stops on `finish` or drop.
pub struct Progress {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Progress {
    /// A status line for `scan`: crawler counters + consumer counters, refreshed 5 times a second.
    pub fn scan(
        show: bool,
        crawl: Arc<crate::crawl::Progress>,
        counters: Arc<ScanCounters>,
    ) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        if !show || !enabled() {
            return Progress { stop, handle: None };
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let pages = counters.pages.load(Ordering::Relaxed);
                let secs = start.elapsed().as_secs_f64().max(1e-3);
                let errors: u64 = crawl.errors.lock().map(|e| e.values().sum()).unwrap_or(0);
                bar.set_message(format!(
                    "crawl: {} fetched, {} queued, {} in flight, {} errors | scan: {} pages ({:.0}/s), {} posts, {} flagged",
                    crawl.pages.load(Ordering::Relaxed),
                    crawl.queued.load(Ordering::Relaxed),
                    crawl.in_flight.load(Ordering::Relaxed),
                    errors,
                    pages,
                    pages as f64 / secs,
                    counters.posts.load(Ordering::Relaxed),
                    counters.flagged.load(Ordering::Relaxed),
                ));
                bar.tick();
                std::thread::sleep(Duration::from_millis(200));
            }
            bar.finish_and_clear();
        });
        Progress {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops and clears the status line.
    pub fn finish(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_now();
    }
}

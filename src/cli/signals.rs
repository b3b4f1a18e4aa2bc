//! Ctrl-C and SIGTERM for every long command: the first signal stops the run (no new work;
//! what is in flight gets a short grace period; the reports are written, marked incomplete,
//! and the exit code is 2); a second signal exits at once, leaving the previous report set in
//! place (reports are only ever replaced whole).

use mtls_audit::audit::StopFlag;

/// Watches for the signals on a thread of its own, so offline runs (rayon, no async runtime)
/// and live runs are stopped the same way.
pub(crate) struct Signals {
    stop: StopFlag,
}

impl Signals {
    /// Starts watching; the handlers are in place when this returns (a signal that arrives
    /// right after is not lost to the default action). `what` says what stops.
    pub(crate) fn watch(what: &'static str) -> Signals {
        let stop = StopFlag::default();
        let flag = stop.clone();
        match Watcher::install() {
            Ok(mut watcher) => {
                let spawned = std::thread::Builder::new()
                    .name("signals".into())
                    .spawn(move || {
                        watcher.wait();
                        eprintln!("stopping: {what}; press Ctrl-C again to quit at once");
                        flag.stop();
                        watcher.wait();
                        eprintln!("quitting: the previous reports are left as they were");
                        std::process::exit(2);
                    });
                if let Err(e) = spawned {
                    eprintln!("warning: Ctrl-C will not stop the run cleanly: {e}");
                }
            }
            Err(e) => eprintln!("warning: Ctrl-C will not stop the run cleanly: {e}"),
        }
        Signals { stop }
    }

    /// The flag the run checks.
    pub(crate) fn stop(&self) -> &StopFlag {
        &self.stop
    }
}

/// The signal streams, registered eagerly on a runtime of their own (also `sim`'s, which
/// registers them before it prints its listening line).
pub(crate) struct Watcher {
    rt: tokio::runtime::Runtime,
    #[cfg(unix)]
    streams: (tokio::signal::unix::Signal, tokio::signal::unix::Signal),
}

impl Watcher {
    pub(crate) fn install() -> std::io::Result<Watcher> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = {
                let _guard = rt.enter();
                (
                    signal(SignalKind::interrupt())?,
                    signal(SignalKind::terminate())?,
                )
            };
            Ok(Watcher { rt, streams })
        }
        #[cfg(not(unix))]
        Ok(Watcher { rt })
    }

    /// Blocks until the next Ctrl-C or SIGTERM.
    pub(crate) fn wait(&mut self) {
        #[cfg(unix)]
        {
            let (int, term) = &mut self.streams;
            self.rt.block_on(async {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            });
        }
        #[cfg(not(unix))]
        self.rt.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
    }
}

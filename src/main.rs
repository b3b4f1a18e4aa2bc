//! The `mtls-audit` binary: parse, install the crypto provider, run, exit with a code that
//! means something (0 compliant, 1 findings at or above --fail-on, 2 the tool could not do
//! its job). Everything else is in `cli` and the library.

mod cli;

use std::process::ExitCode;

// The one place an error reaches the user.
#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    // One crypto provider for every TLS user in the process (ARCHITECTURE.md, pitfalls). It can only
    // fail if one is installed already, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
    raise_open_files_limit();
    limit_malloc_arenas();
    let args = <cli::Cli as clap::Parser>::parse();
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A fleet audit (and the simulator serving a fleet) holds thousands of sockets at once; the
/// usual soft limit of 1,024 open files is raised to the hard limit, as network tools do.
#[cfg(unix)]
#[allow(unsafe_code)]
fn raise_open_files_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[cfg(not(unix))]
#[allow(unsafe_code)]
fn raise_open_files_limit() {}

/// glibc gives each thread that allocates its own heap arena (up to eight per core); with
/// thousands of short-lived connection buffers on tokio's and rayon's threads the arenas
/// fragment and the resident size of a 10,000-tenant live audit was half again its heap. One
/// arena per core keeps it close to the heap (BENCHMARKS.md) at no cost in speed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(2);
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {}

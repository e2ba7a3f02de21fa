//! The sandbox process's side (`orchstack render-template`): limit this process's
//! memory, CPU, files and processes first, then read one request from stdin, render it
//! with the same engine as the server and write the reply to stdout. A template that
//! asks for more memory than allowed makes an allocation fail, which ends this process
//! only; the server reads that as the template's error.

use super::sandbox::{Reply, Request};
use super::{engine, TemplateError};
use std::io::{Read, Write};
use std::sync::atomic::AtomicBool;

/// Runs the sandbox subcommand and returns the process's exit code.
pub fn main(max_memory_bytes: u64, cpu_seconds: u64) -> i32 {
    match limited(max_memory_bytes) {
        Ok(true) => {}
        Ok(false) => {
            // Limits bind new mappings only, and the allocator reserved a large arena
            // before `main`: so this process limits itself, then becomes a new image of
            // the same binary, which starts under the limits (and lands in `Ok(true)`).
            let e = limit(max_memory_bytes, cpu_seconds).map_or_else(|e| e, |()| reexec());
            eprintln!("error: could not limit the sandbox: {e}");
            return 3;
        }
        Err(e) => {
            eprintln!("error: could not read the sandbox's limits: {e}");
            return 3;
        }
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("error: reading the request: {e}");
        return 2;
    }
    let reply = match serde_json::from_slice::<Request>(&input) {
        Ok(request) => {
            drop(input);
            let context = minijinja::Value::from_serialize(&request.context);
            match engine::render(
                &request.template,
                context,
                request.fuel,
                request.max_output_bytes,
                &AtomicBool::new(false),
            ) {
                Ok(text) => Reply::Ok(text),
                Err(e) => Reply::Error(e),
            }
        }
        Err(e) => Reply::Error(TemplateError::Render(format!("bad request: {e}"))),
    };
    let mut stdout = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut stdout, &reply)
        .map_err(std::io::Error::from)
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: writing the reply: {e}");
            2
        }
    }
}

/// True when this process already runs under the memory limit.
#[cfg(unix)]
fn limited(max_memory_bytes: u64) -> std::io::Result<bool> {
    let (soft, _) = rlimit::getrlimit(rlimit::Resource::DATA)?;
    Ok(soft <= max_memory_bytes)
}

/// Replaces this process with a new run of the same command; returns only on failure.
#[cfg(unix)]
fn reexec() -> std::io::Error {
    use std::os::unix::process::CommandExt;
    match std::env::current_exe() {
        Ok(exe) => std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .exec(),
        Err(e) => e,
    }
}

/// Memory (the data segment, which counts heap mappings), CPU seconds (SIGXCPU at the
/// soft limit, SIGKILL a second later), and no new files or processes.
#[cfg(unix)]
fn limit(max_memory_bytes: u64, cpu_seconds: u64) -> std::io::Result<()> {
    use rlimit::{setrlimit, Resource};
    setrlimit(Resource::DATA, max_memory_bytes, max_memory_bytes)?;
    setrlimit(Resource::CPU, cpu_seconds, cpu_seconds + 1)?;
    // Enough for the loader to open the binary's libraries when the process re-executes.
    setrlimit(Resource::NOFILE, 16, 16)?;
    setrlimit(Resource::NPROC, 0, 0)?;
    Ok(())
}

#[cfg(not(unix))]
fn limited(_: u64) -> std::io::Result<bool> {
    Err(std::io::Error::other(
        "the template sandbox needs a Unix system",
    ))
}

#[cfg(not(unix))]
fn limit(_: u64, _: u64) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "the template sandbox needs a Unix system",
    ))
}

#[cfg(not(unix))]
fn reexec() -> std::io::Error {
    std::io::Error::other("the template sandbox needs a Unix system")
}

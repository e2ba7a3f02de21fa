//! Renders a template in a short-lived child process (`orchstack render-template`) that
//! limits its own memory and CPU before reading the request: fuel counts instructions,
//! not bytes, so only the operating system can stop a template that builds a huge
//! string. This is the server's side: it spawns the child, feeds it the request, waits
//! for the answer within the deadline and reads a crash as the error it stands for.

use super::TemplateError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// The hidden subcommand of the `orchstack` binary that renders one request.
pub const SUBCOMMAND: &str = "render-template";

/// Most of the child's error output kept (enough for a panic or allocation message).
const STDERR_KEPT: usize = 4096;

/// What the server sends the child on stdin.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// The template source.
    pub template: String,
    /// The render context (JSON).
    pub context: serde_json::Value,
    /// Instructions the render may execute.
    pub fuel: u64,
    /// Largest rendered text, in bytes.
    pub max_output_bytes: usize,
}

/// What the child answers on stdout.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reply {
    /// The rendered text.
    Ok(String),
    /// Why it did not render.
    Error(TemplateError),
}

/// The child process's binary and the limits it sets on itself.
#[derive(Debug, Clone)]
pub(super) struct Sandbox {
    pub exe: PathBuf,
    pub max_memory_bytes: u64,
    pub cpu_seconds: u64,
}

impl Sandbox {
    /// Renders `request` in a child process, within `timeout`.
    pub async fn render(
        &self,
        request: &Request,
        timeout: Duration,
    ) -> Result<String, TemplateError> {
        let payload = serde_json::to_vec(request)
            .map_err(|e| TemplateError::Render(format!("the context is not JSON: {e}")))?;
        // JSON escapes a control character in six bytes.
        let stdout_cap = request.max_output_bytes.saturating_mul(6) + 1024;
        let mut child = Command::new(&self.exe)
            .arg(SUBCOMMAND)
            .arg("--max-memory-bytes")
            .arg(self.max_memory_bytes.to_string())
            .arg("--cpu-seconds")
            .arg(self.cpu_seconds.to_string())
            // The child needs nothing from the server's environment (keys, URLs).
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| TemplateError::Render(format!("the sandbox did not start: {e}")))?;
        let talk = async {
            let (mut stdin, stdout, stderr) =
                (child.stdin.take(), child.stdout.take(), child.stderr.take());
            let write = async {
                if let Some(stdin) = stdin.as_mut() {
                    // A child that died early closes the pipe; its status says why.
                    let _ = stdin.write_all(&payload).await;
                    let _ = stdin.shutdown().await;
                }
                drop(stdin);
            };
            let (_, out, err) = tokio::join!(
                write,
                read_capped(stdout, stdout_cap),
                read_capped(stderr, STDERR_KEPT)
            );
            let (out, out_overflowed) = out;
            if out_overflowed {
                return Err(TemplateError::TooLarge(request.max_output_bytes));
            }
            let status = child
                .wait()
                .await
                .map_err(|e| TemplateError::Render(format!("the sandbox failed: {e}")))?;
            Ok((status, out, err.0))
        };
        let talked = tokio::time::timeout(timeout, talk).await;
        // kill_on_drop ends the child on every early return.
        let (status, out, err) = match talked {
            Ok(result) => result?,
            Err(_) => return Err(TemplateError::Timeout(timeout.as_millis() as u64)),
        };
        if let Ok(reply) = serde_json::from_slice::<Reply>(&out) {
            if status.success() {
                return match reply {
                    Reply::Ok(text) => Ok(text),
                    Reply::Error(e) => Err(e),
                };
            }
        }
        Err(self.crash(status, &String::from_utf8_lossy(&err), timeout))
    }

    /// The error a child that ended without an answer stands for.
    fn crash(&self, status: ExitStatus, stderr: &str, timeout: Duration) -> TemplateError {
        let memory = TemplateError::TooMuchMemory(self.max_memory_bytes);
        if ["memory allocation", "capacity overflow", "out of memory"]
            .iter()
            .any(|hint| stderr.contains(hint))
        {
            return memory;
        }
        match signal(status) {
            // SIGXCPU: the CPU limit (a backstop behind the deadline).
            Some(24) => TemplateError::Timeout(timeout.as_millis() as u64),
            // SIGKILL from the kernel's OOM killer, SIGSEGV/SIGABRT from a failed mapping.
            Some(9 | 11 | 6) => memory,
            _ => {
                tracing::warn!(%status, stderr, "the template sandbox crashed");
                TemplateError::Render(format!("the sandbox crashed ({status})"))
            }
        }
    }
}

#[cfg(unix)]
fn signal(status: ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(&status)
}

#[cfg(not(unix))]
fn signal(_: ExitStatus) -> Option<i32> {
    None
}

/// Reads a pipe to its end, keeping at most `cap` bytes; true when there was more. The
/// rest is drained, so a chatty child cannot block on a full pipe.
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut overflowed = false;
    let Some(mut pipe) = pipe else {
        return (kept, overflowed);
    };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return (kept, overflowed),
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
                overflowed |= n > room;
            }
        }
    }
}

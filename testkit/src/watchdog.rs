//! A server process driven by a shell script over a pipe: it prints `ready` once
//! serving, obeys `stop` / `start` lines, and cleans up when the pipe closes.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::Mutex,
};

pub struct Watchdog {
    what: &'static str,
    child: Child,
    io: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
}

impl Watchdog {
    /// Runs `command` (a shell running the watch script) and waits for `ready`.
    pub fn spawn(what: &'static str, mut command: Command) -> anyhow::Result<Self> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| anyhow::anyhow!("cannot start the {what} watchdog: {err}"))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
        let stdout = BufReader::new(
            child
                .stdout
                .take()
                .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
        );
        let watchdog = Self {
            what,
            child,
            io: Mutex::new((stdin, stdout)),
        };
        watchdog.expect_line("ready")?;
        Ok(watchdog)
    }

    /// Sends a command line and waits for the expected answer line.
    pub fn command(&self, line: &str, answer: &str) -> anyhow::Result<()> {
        {
            let mut io = self.io.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            writeln!(io.0, "{line}")?;
            io.0.flush()?;
        }
        self.expect_line(answer)
    }

    fn expect_line(&self, expected: &str) -> anyhow::Result<()> {
        let mut io = self.io.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let mut line = String::new();
        io.1.read_line(&mut line)?;
        if line.trim() == expected {
            Ok(())
        } else {
            anyhow::bail!(
                "{} did not answer {expected:?} (got {:?}); see stderr",
                self.what,
                line.trim()
            )
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Closing stdin is the signal to stop and clean up; wait so files are gone.
        if let Ok(mut io) = self.io.lock() {
            let _ = writeln!(io.0, "quit");
        }
        let _ = self.child.wait();
    }
}

//! Running Debian's `wrk` with a generated Lua script, and reading its
//! `--latency` report.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::Res;

/// What one measured window gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// Non-2xx/3xx answers plus socket errors (connect, read, write, timeout).
    pub errors: u64,
}

/// `2.50ms`, `812.00us`, `1.02s`, `3.00m` in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(number * factor)
}

/// Parse wrk's stdout (run with `--latency` and a `done()` that prints
/// `P999_US <microseconds>`).
pub fn parse(output: &str) -> Res<Measured> {
    let mut measured = Measured::default();
    let (mut rps, mut p50, mut p99, mut p999) = (None, None, None, None);
    let mut in_distribution = false;
    for line in output.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("Latency Distribution") {
            in_distribution = true;
            continue;
        }
        if in_distribution {
            let mut parts = trimmed.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some("50%"), Some(value)) => p50 = duration_ms(value),
                (Some("99%"), Some(value)) => p99 = duration_ms(value),
                (Some("75%" | "90%"), _) => {}
                _ => in_distribution = false,
            }
        }
        if let Some(rest) = trimmed.strip_prefix("Requests/sec:") {
            rps = rest.trim().parse::<f64>().ok();
        } else if let Some(rest) = trimmed.strip_prefix("Non-2xx or 3xx responses:") {
            measured.errors += rest.trim().parse::<u64>().map_err(|e| format!("non-2xx count: {e}"))?;
        } else if let Some(rest) = trimmed.strip_prefix("Socket errors:") {
            // Socket errors: connect 0, read 3, write 0, timeout 12
            for part in rest.split(',') {
                if let Some(count) = part.split_whitespace().nth(1) {
                    measured.errors += count.parse::<u64>().map_err(|e| format!("socket error count: {e}"))?;
                }
            }
        } else if let Some(rest) = trimmed.strip_prefix("P999_US") {
            p999 = rest.trim().parse::<f64>().ok().map(|us| us / 1000.0);
        }
    }
    measured.rps = rps.ok_or("wrk printed no Requests/sec")?;
    measured.p50_ms = p50.ok_or("wrk printed no 50% latency (was --latency given?)")?;
    measured.p99_ms = p99.ok_or("wrk printed no 99% latency")?;
    measured.p999_ms = p999.ok_or("the script's done() printed no P999_US")?;
    Ok(measured)
}

/// The part of every script that picks a per-thread seed and prints p99.9.
const COMMON: &str = r#"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  phase = args[1] or "x"
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  counter = 0
  if prepare then prepare() end
end
function done(summary, latency, requests)
  io.write(string.format("P999_US %f\n", latency:percentile(99.9)))
end
"#;

/// A Lua string literal.
pub fn lua_str(text: &str) -> String {
    format!("{text:?}")
}

/// A Lua table of strings.
pub fn lua_table(items: &[String]) -> String {
    let mut out = String::with_capacity(items.len() * 44 + 4);
    out.push('{');
    for item in items {
        out.push_str(&lua_str(item));
        out.push(',');
    }
    out.push('}');
    out
}

/// A Lua expression for a list of strings: a table literal, or for long lists
/// (LuaJIT allows 65,536 constants per function) lines read from a file.
pub fn lua_list(dir: &Path, name: &str, items: &[String]) -> Res<String> {
    if items.len() <= 50_000 {
        return Ok(lua_table(items));
    }
    let path = dir.join(format!("{name}.txt"));
    std::fs::write(&path, items.join("\n") + "\n")?;
    let path = lua_str(&path.to_string_lossy());
    Ok(format!("(function() local t = {{}} for l in io.lines({path}) do t[#t + 1] = l end return t end)()"))
}

/// Write `body` (which defines `request()` and optionally `prepare()`) with
/// the common part to `dir/name.lua`.
pub fn write_script(dir: &Path, name: &str, body: &str) -> Res<std::path::PathBuf> {
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, format!("{COMMON}\n{body}\n"))?;
    Ok(path)
}

/// Start wrk: 64 connections, 2 threads, for `duration`.
pub fn spawn(script: &Path, url: &str, duration: Duration, phase: &str) -> Res<Child> {
    let child = Command::new("wrk")
        .args(["-c", "64", "-t", "2", "--latency", "--timeout", "10s", "-d"])
        .arg(format!("{}s", duration.as_secs()))
        .arg("-s")
        .arg(script)
        .arg(url)
        .arg(phase)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start wrk (is it installed?): {e}"))?;
    Ok(child)
}

/// Wait for a wrk started by [`spawn`] and parse what it printed.
pub fn finish(child: Child) -> Res<Measured> {
    let output = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("wrk failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.trim().is_empty() {
        return Err(format!("wrk script error: {stderr}").into());
    }
    parse(&stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 5s test @ http://127.0.0.1:41234
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.12ms    1.05ms  21.40ms   78.11%
    Req/Sec    10.31k   612.44    11.52k    70.00%
  Latency Distribution
     50%    2.95ms
     75%    3.61ms
     90%    4.33ms
     99%    6.87ms
  102613 requests in 5.00s, 15.17MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  20513.82
Transfer/sec:      3.03MB
P999_US 12345.000000
";

    #[test]
    fn parses_a_captured_wrk_report() {
        let measured = parse(SAMPLE).unwrap();
        assert_eq!(measured, Measured { rps: 20513.82, p50_ms: 2.95, p99_ms: 6.87, p999_ms: 12.345, errors: 7 });
    }

    #[test]
    fn units_and_a_clean_report() {
        assert_eq!(duration_ms("812.00us"), Some(0.812));
        assert_eq!(duration_ms("1.50s"), Some(1500.0));
        let clean = SAMPLE
            .replace("  Socket errors: connect 0, read 2, write 0, timeout 1\n", "")
            .replace("  Non-2xx or 3xx responses: 4\n", "");
        assert_eq!(parse(&clean).unwrap().errors, 0);
        assert!(parse("Requests/sec: 1\n").is_err(), "no latency distribution");
    }
}

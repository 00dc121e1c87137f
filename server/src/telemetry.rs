//! Logging to standard error, filtered by `--log` / `KILN_LOG`.

use tracing_subscriber::{EnvFilter, fmt};

pub fn init(filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("invalid log filter {filter:?} (try `info` or `kiln=debug`): {e}"))?;
    // Tests start several apps in one process; only the first installs the subscriber.
    let _ = fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    Ok(())
}

//! Where the keyring comes from: `HERALD_ENCRYPTION_KEYS`, or in development a key generated
//! once into `{data_dir}/encryption.keys`.
//!
//! The development key file is created with `create_new` (so two processes starting at once
//! agree on one key) and mode 0600. Production never gets here without keys: configuration
//! validation refuses to start.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::Path;

use anyhow::Context;
use herald_config::{Config, Environment};
use herald_store::Keyring;
use secrecy::ExposeSecret;

pub(crate) const DEV_KEY_FILE: &str = "encryption.keys";

pub(crate) fn keyring(config: &Config) -> anyhow::Result<Keyring> {
    if let Some(keys) = &config.encryption_keys {
        return Keyring::parse(keys.expose_secret()).context("invalid encryption keys");
    }
    anyhow::ensure!(
        config.env == Environment::Development,
        "HERALD_ENCRYPTION_KEYS is required in production"
    );
    let path = config.data_dir.join(DEV_KEY_FILE);
    let spec = read_or_create(&path)?;
    eprintln!(
        "WARNING: HERALD_ENCRYPTION_KEYS is not set. Using the development key in {} \
         (tokens sealed with it cannot be read without that file). Set \
         HERALD_ENCRYPTION_KEYS (`herald keys gen-encryption`) for anything but development.",
        path.display()
    );
    Keyring::parse(&spec).with_context(|| format!("{} is not a valid key file", path.display()))
}

fn read_or_create(path: &Path) -> anyhow::Result<String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            let entry = Keyring::generate_entry();
            file.write_all(format!("{entry}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "Generated a development encryption key in {}",
                path.display()
            );
            Ok(entry)
        }
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {
            // Another process may be writing it this instant: wait for a complete line.
            for _ in 0..50 {
                let content = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                if content.ends_with('\n') {
                    return Ok(content.trim().to_owned());
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            anyhow::bail!("{} is empty or incomplete", path.display())
        }
        Err(err) => Err(err).with_context(|| format!("cannot create {}", path.display())),
    }
}

//! How much of each kind of input file the tool reads (docs/spec.md §12): every file is read through
//! `mtls_audit_input::read_file` with one of these limits, so a FIFO, a device or a file over
//! its limit is refused at once, and the message names the file, the limit and the option that
//! raises it.

use mtls_audit_input::FileLimit;

const MIB: u64 = 1024 * 1024;

/// The size limits of the inputs of one run, in bytes. The defaults fit any real fleet with
/// room to spare; each has a command-line option (named in [`FileLimit::option`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// The inventory CSV (`--max-inventory-size`): 256 MiB, about a million tenants.
    pub inventory: u64,
    /// Small configuration files: credentials, secret files, keys, CA and client
    /// certificates, scenarios (`--max-config-size`): 16 MiB.
    pub config: u64,
    /// `audit.json` files read back by `diff`, `merge` and `notify` (`--max-report-size`):
    /// 2 GiB, a fleet of several hundred thousand tenants.
    pub report: u64,
    /// Certificate evidence and `--reference-cert` files (`--max-cert-size`): 16 MiB.
    pub cert: u64,
}

impl Default for InputLimits {
    fn default() -> InputLimits {
        InputLimits {
            inventory: 256 * MIB,
            config: 16 * MIB,
            report: 2048 * MIB,
            cert: mtls_audit_cert::Limits::default().max_file_bytes,
        }
    }
}

impl InputLimits {
    /// The limit of the inventory CSV.
    pub fn inventory(&self) -> FileLimit {
        FileLimit {
            bytes: self.inventory,
            what: "inventory",
            option: "--max-inventory-size",
        }
    }

    /// The limit of a configuration file; `what` names it in messages ("credentials file").
    pub fn config(&self, what: &'static str) -> FileLimit {
        FileLimit {
            bytes: self.config,
            what,
            option: "--max-config-size",
        }
    }

    /// The limit of an `audit.json` read back.
    pub fn report(&self) -> FileLimit {
        FileLimit {
            bytes: self.report,
            what: "audit.json",
            option: "--max-report-size",
        }
    }

    /// The limits the certificate loader works with (file size from `--max-cert-size`; archive
    /// limits as the loader sets them).
    pub fn certificates(&self) -> mtls_audit_cert::Limits {
        mtls_audit_cert::Limits {
            max_file_bytes: self.cert,
            ..mtls_audit_cert::Limits::default()
        }
    }
}

/// Parses a size such as `512`, `64KiB`, `16MiB`, `2GiB`, `1G` or `300MB` (binary multiples
/// for both spellings: a limit is a guard, not an invoice).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => 1024 * MIB,
        _ => return None,
    };
    n.checked_mul(mult).filter(|&b| b > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("64KiB"), Some(64 * 1024));
        assert_eq!(parse_size("16 MiB"), Some(16 * MIB));
        assert_eq!(parse_size("2g"), Some(2048 * MIB));
        assert_eq!(parse_size("300MB"), Some(300 * MIB));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("ten"), None);
        assert_eq!(parse_size("5 TB"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }

    #[test]
    fn limits_name_their_option() {
        let l = InputLimits::default();
        assert_eq!(l.inventory().option, "--max-inventory-size");
        assert_eq!(l.config("credentials file").what, "credentials file");
        assert_eq!(l.report().bytes, 2 * 1024 * MIB);
        assert_eq!(
            l.certificates().max_file_bytes,
            mtls_audit_cert::Limits::default().max_file_bytes
        );
    }
}

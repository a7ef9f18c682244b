//! The device estimate: browser, OS and type from the User-Agent (Project
//! Woothee's parser), refined by User-Agent client hints where the browser
//! sends them (they are more precise than the frozen UA strings).

use serde::{Deserialize, Serialize};

/// The `Sec-CH-UA*` values a browser sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientHints {
    /// `Sec-CH-UA`: brands and versions.
    pub ua: Option<String>,
    /// `Sec-CH-UA-Mobile`: `?1` or `?0`.
    pub mobile: Option<String>,
    /// `Sec-CH-UA-Platform`, e.g. `"Windows"`.
    pub platform: Option<String>,
    /// `Sec-CH-UA-Platform-Version`.
    pub platform_version: Option<String>,
    /// `Sec-CH-UA-Model`.
    pub model: Option<String>,
}

/// What kind of device and software this is, as far as can be told.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimate {
    /// Browser family, e.g. `Chrome`, `Safari`.
    pub browser: Option<String>,
    /// Browser version.
    pub browser_version: Option<String>,
    /// Operating system family, e.g. `Windows`, `macOS`, `Linux`, `iOS`, `Android`.
    pub os: Option<String>,
    /// Operating system version.
    pub os_version: Option<String>,
    /// `desktop`, `mobile`, `tablet`, `bot` or `other`.
    pub device_type: String,
    /// Device vendor, e.g. `Apple`.
    pub vendor: Option<String>,
    /// Device model, e.g. `iPhone` or a client-hinted model.
    pub model: Option<String>,
}

fn known(value: &str) -> Option<String> {
    (!value.is_empty() && value != "UNKNOWN").then(|| value.to_owned())
}

/// A hint value without its structured-header quotes.
fn unquote(value: &str) -> String {
    value.trim().trim_matches('"').to_owned()
}

/// The OS family of a Woothee OS name (`Windows 10` -> `Windows`).
fn os_family(os: &str) -> Option<String> {
    let family = match os {
        o if o.starts_with("Windows") => "Windows",
        "Mac OSX" | "Mac OS Classic" => "macOS",
        "iPhone" | "iPad" | "iPod" | "iOS" => "iOS",
        "Android" => "Android",
        "Linux" => "Linux",
        "ChromeOS" => "ChromeOS",
        other => return known(other),
    };
    Some(family.to_owned())
}

/// Estimate a device from its User-Agent and client hints.
pub fn estimate(user_agent: Option<&str>, hints: &ClientHints) -> Estimate {
    let parsed = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua));
    let mut e = Estimate { device_type: "other".to_owned(), ..Estimate::default() };
    if let Some(p) = &parsed {
        e.browser = known(p.name);
        e.browser_version = known(p.version);
        e.os = os_family(p.os);
        e.os_version = known(&p.os_version);
        e.device_type = match (p.category, p.os) {
            (_, "iPad") => "tablet",
            ("pc", _) => "desktop",
            ("smartphone" | "mobilephone", _) => "mobile",
            ("crawler", _) => "bot",
            _ => "other",
        }
        .to_owned();
        if matches!(p.os, "iPhone" | "iPad" | "iPod" | "Mac OSX") {
            e.vendor = Some("Apple".to_owned());
            if p.os != "Mac OSX" {
                e.model = Some(p.os.to_owned());
            }
        }
    }
    if let Some(platform) = hints.platform.as_deref().map(unquote).filter(|p| !p.is_empty()) {
        e.os = Some(if platform == "macOS" { platform } else { os_family(&platform).unwrap_or(platform) });
    }
    if let Some(version) = hints.platform_version.as_deref().map(unquote).filter(|v| !v.is_empty()) {
        e.os_version = Some(version);
    }
    if let Some(model) = hints.model.as_deref().map(unquote).filter(|m| !m.is_empty()) {
        e.model = Some(model);
    }
    if hints.mobile.as_deref() == Some("?1") && e.device_type == "desktop" {
        e.device_type = "mobile".to_owned();
    }
    e
}

impl Estimate {
    /// Whether two estimates are the same kind of device: same type and
    /// vendor, and the same OS and browser families.
    pub fn familiar(&self, other: &Estimate) -> bool {
        self.device_type == other.device_type
            && self.vendor == other.vendor
            && self.model == other.model
            && self.os == other.os
            && self.browser == other.browser
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

    #[test]
    fn estimates_desktop_chrome_and_iphone_safari() {
        let desktop = estimate(Some(CHROME_WINDOWS), &ClientHints::default());
        assert_eq!(desktop.browser.as_deref(), Some("Chrome"));
        assert_eq!(desktop.os.as_deref(), Some("Windows"));
        assert_eq!(desktop.device_type, "desktop");
        let phone = estimate(Some(SAFARI_IPHONE), &ClientHints::default());
        assert_eq!(phone.browser.as_deref(), Some("Safari"));
        assert_eq!(phone.os.as_deref(), Some("iOS"));
        assert_eq!(phone.device_type, "mobile");
        assert_eq!(phone.vendor.as_deref(), Some("Apple"));
        assert!(!desktop.familiar(&phone));
        assert!(desktop.familiar(&estimate(Some(CHROME_WINDOWS), &ClientHints::default())));
    }

    #[test]
    fn client_hints_refine_the_estimate() {
        let hints = ClientHints {
            platform: Some("\"Android\"".into()),
            platform_version: Some("\"14.0.0\"".into()),
            model: Some("\"Pixel 8\"".into()),
            mobile: Some("?1".into()),
            ua: None,
        };
        let e = estimate(Some(CHROME_WINDOWS), &hints);
        assert_eq!(e.os.as_deref(), Some("Android"));
        assert_eq!(e.os_version.as_deref(), Some("14.0.0"));
        assert_eq!(e.model.as_deref(), Some("Pixel 8"));
        assert_eq!(e.device_type, "mobile");
        assert_eq!(estimate(None, &ClientHints::default()).device_type, "other");
    }
}

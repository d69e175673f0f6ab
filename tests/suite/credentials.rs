//! Credential kinds as a user has them: an `aws login` session (the provider is tried, not a
//! missing feature), a role that needs an MFA code (one line saying what to do), none at all (a
//! hint about credentials, not about the network).

use crate::common;

fn status_with(config: &str, env: &[(&str, &str)]) -> (i32, String) {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(home.path().join(".aws/config"), config).unwrap();
    let mut cmd = common::tgpipe(&["status"]);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_REGION", common::REGION)
        // Nothing answers here: no call may get as far as the network.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied());
    let (code, _, stderr) = common::run(cmd);
    (code, stderr)
}

#[test]
fn each_kind_of_credentials_is_tried_or_explained_in_one_line() {
    let config = "[profile web]\nlogin_session = arn:aws:iam::123456789012:user/Admin\n\
                  [profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\n\
                  source_profile = web\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n";
    let (code, err) = status_with(config, &[("AWS_PROFILE", "web")]);
    assert_eq!(code, 1);
    assert!(!err.contains("cargo feature"), "{err}");
    assert!(
        err.contains(".aws/login/cache"),
        "the login provider is tried: {err}"
    );
    assert!(err.contains("credentials could not be loaded"), "{err}");
    assert!(!err.contains("check --region"), "{err}");

    let (code, err) = status_with(config, &[("AWS_PROFILE", "admin")]);
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("aws configure export-credentials --profile admin"),
        "{err}"
    );

    let (code, err) = status_with("", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("credentials could not be loaded"), "{err}");
}

#[test]
fn keys_with_an_mfa_device_but_no_role_and_the_exported_keys_are_not_refused() {
    let config = "[profile keys]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n\
                  [default]\nrole_arn = arn:aws:iam::123456789012:role/Admin\n\
                  source_profile = keys\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n";
    let (_, err) = status_with(config, &[("AWS_PROFILE", "keys")]);
    assert!(!err.contains("MFA code"), "{err}");
    // The way round: the keys exported into the environment, the default profile left as is.
    let (_, err) = status_with(
        config,
        &[("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "y")],
    );
    assert!(!err.contains("MFA code"), "{err}");
    let (code, err) = status_with(config, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("MFA code"), "{err}");
}

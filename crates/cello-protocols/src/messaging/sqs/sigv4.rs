//! AWS Signature Version 4 for SQS's JSON protocol: every request is a `POST /` whose
//! signed headers are content-type, host, x-amz-date, x-amz-target (and
//! x-amz-security-token with temporary credentials).

use data_encoding::HEXLOWER;
use ring::{digest, hmac};

use super::config::Credentials;

/// The headers one request carries besides its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `X-Amz-Date`, `20261202T101225Z`
    pub amz_date: String,
    /// `Authorization`
    pub authorization: String,
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    HEXLOWER.encode(digest::digest(&digest::SHA256, data).as_ref())
}

/// Signs `POST /` to `host` with `target` (`AmazonSQS.SendMessage`) and `body`, at
/// `amz_date` (`YYYYMMDDTHHMMSSZ`, UTC).
pub fn sign(
    credentials: &Credentials,
    region: &str,
    host: &str,
    content_type: &str,
    target: &str,
    body: &[u8],
    amz_date: &str,
) -> Signed {
    let date = &amz_date[..8];
    let mut canonical_headers =
        format!("content-type:{content_type}\nhost:{host}\nx-amz-date:{amz_date}\n");
    let mut signed_headers = String::from("content-type;host;x-amz-date");
    if let Some(token) = &credentials.session_token {
        canonical_headers.push_str(&format!("x-amz-security-token:{token}\n"));
        signed_headers.push_str(";x-amz-security-token");
    }
    canonical_headers.push_str(&format!("x-amz-target:{target}\n"));
    signed_headers.push_str(";x-amz-target");
    let canonical_request = format!(
        "POST\n/\n\n{canonical_headers}\n{signed_headers}\n{}",
        sha256_hex(body)
    );
    let scope = format!("{date}/{region}/sqs/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let secret = format!("AWS4{}", credentials.secret_access_key);
    let key = hmac(secret.as_bytes(), date.as_bytes());
    let key = hmac(&key, region.as_bytes());
    let key = hmac(&key, b"sqs");
    let key = hmac(&key, b"aws4_request");
    let signature = HEXLOWER.encode(&hmac(&key, string_to_sign.as_bytes()));
    Signed {
        amz_date: amz_date.to_owned(),
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key_id
        ),
    }
}

/// Now as `YYYYMMDDTHHMMSSZ`.
pub fn amz_date_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    amz_date(seconds)
}

/// `seconds` since the Unix epoch as `YYYYMMDDTHHMMSSZ` (civil-from-days, proleptic
/// Gregorian calendar).
pub fn amz_date(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let rest = seconds % 86_400;
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_botocore() {
        // The same request signed by botocore's SigV4Auth.
        let credentials = Credentials {
            access_key_id: "AKIDEXAMPLE".to_owned(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
            session_token: Some("TOKEN123".to_owned()),
        };
        let signed = sign(
            &credentials,
            "us-east-1",
            "sqs.us-east-1.amazonaws.com",
            "application/x-amz-json-1.0",
            "AmazonSQS.CreateQueue",
            br#"{"QueueName":"orders"}"#,
            "20261202T101225Z",
        );
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, \
             Signature=bf3b1a816b863a06bd8341cf166d2164f171e13e7cd6aa3baea68b5ba6f15fa1"
        );
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date(1_796_206_345), "20261202T101225Z");
    }
}

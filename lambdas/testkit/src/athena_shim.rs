//! What moto's Athena lacks, put in front of it: moto returns every result row in one page and
//! every query succeeds having scanned nothing. This proxy forwards every request to moto and
//! then, as Athena does, pages `GetQueryResults` by `MaxResults`/`NextToken`, reports
//! `scanned_bytes` for each query, and fails a query whose text contains `fail_marker`
//! (with `fail_reason`, as Athena's `AthenaError`).

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::http::{Reply, Request, fetch, serve};

pub struct AthenaShim {
    pub endpoint: String,
    pages: Arc<Mutex<Vec<ResultPage>>>,
}

/// `NextToken` and `MaxResults` of one GetQueryResults call.
pub type ResultPage = (Option<String>, Option<i64>);

pub struct AthenaShimConfig {
    pub scanned_bytes: i64,
    pub fail_marker: String,
    pub fail_reason: String,
}

impl AthenaShim {
    pub fn start(moto: &str, config: AthenaShimConfig) -> AthenaShim {
        let pages = Arc::new(Mutex::new(Vec::new()));
        let (moto, seen) = (moto.to_owned(), pages.clone());
        let addr = serve(Arc::new(move |req: Request| {
            shim(req, &moto, &config, &seen)
        }));
        AthenaShim {
            endpoint: format!("http://{addr}"),
            pages,
        }
    }

    /// `(NextToken, MaxResults)` of every GetQueryResults call, in order.
    pub fn result_pages(&self) -> Vec<ResultPage> {
        self.pages.lock().expect("pages").clone()
    }
}

fn shim(
    req: Request,
    moto: &str,
    config: &AthenaShimConfig,
    pages: &Mutex<Vec<ResultPage>>,
) -> Reply {
    let target = req.header("x-amz-target").unwrap_or_default().to_owned();
    let mut params: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let page = if target.ends_with("GetQueryResults") {
        let token = params["NextToken"].as_str().map(str::to_owned);
        let max = params["MaxResults"].as_i64();
        pages.lock().expect("pages").push((token.clone(), max));
        if let Some(map) = params.as_object_mut() {
            map.remove("NextToken");
            map.remove("MaxResults");
        }
        Some((
            token.and_then(|t| t.parse::<usize>().ok()).unwrap_or(0),
            max.unwrap_or(1000) as usize,
        ))
    } else {
        None
    };
    let body = if page.is_some() {
        params.to_string().into_bytes()
    } else {
        req.body.clone()
    };
    // Forwarded as is: moto does not check signatures.
    let Reply {
        status,
        headers,
        body: payload,
    } = match fetch(moto, &req.method, &req.path, &req.headers, body) {
        Ok(reply) => reply,
        Err(e) => return Reply::new(502, "text/plain", format!("moto: {e}")),
    };
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map_or("application/x-amz-json-1.1".to_owned(), |(_, v)| v.clone());
    let mut reply: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
    let rewritten = if let (Some((offset, max)), Some(rows)) =
        (page, reply["ResultSet"]["Rows"].as_array().cloned())
    {
        let end = (offset + max).min(rows.len());
        reply["ResultSet"]["Rows"] = Value::Array(rows[offset.min(end)..end].to_vec());
        if end < rows.len() {
            reply["NextToken"] = Value::String(end.to_string());
        }
        true
    } else if target.ends_with("GetQueryExecution") && reply["QueryExecution"].is_object() {
        let execution = &mut reply["QueryExecution"];
        execution["Statistics"]["DataScannedInBytes"] = config.scanned_bytes.into();
        if execution["Query"]
            .as_str()
            .is_some_and(|q| q.contains(&config.fail_marker))
        {
            execution["Status"]["State"] = "FAILED".into();
            execution["Status"]["StateChangeReason"] = config.fail_reason.clone().into();
            execution["Status"]["AthenaError"] = serde_json::json!({"ErrorCategory": 2, "ErrorType": 1006, "ErrorMessage": config.fail_reason});
        }
        true
    } else {
        false
    };
    let payload = if rewritten {
        reply.to_string().into_bytes()
    } else {
        payload
    };
    Reply::new(status, &content_type, payload)
}

//! The openai generator: any OpenAI-compatible `POST {base_url}/chat/completions` endpoint
//! (vLLM, Ollama, llama.cpp server, OpenAI), per the OpenAI API reference "Create chat
//! completion", streamed as Server-Sent Events (`stream: true`, chunks carry
//! `choices[0].delta.content`, the stream ends with `data: [DONE]`).
//!
//! Faults are bounded: a connect timeout, a read timeout that applies to the response head
//! and to every read of the body (so a stalled stream fails, a slow but live one does not),
//! and at most `max_retries` retries on 429/5xx or a refused connection, with exponential
//! backoff that honours `Retry-After` (RFC 9110 §10.2.3, delay-seconds form). Nothing is
//! retried once a token has been passed on. A fallback endpoint, if configured, is tried
//! when the primary fails.

mod sse;

use std::io::BufReader;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::stop::StopFilter;
use crate::{GenerateRequest, Generation, Generator, LlmError, TokenSink, Usage};
pub use sse::SseReader;

/// One OpenAI-compatible endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiConfig {
    /// Base URL up to and including `/v1`, e.g. `http://localhost:8000/v1`.
    pub base_url: String,
    /// Model name sent in the request.
    pub model: String,
    /// Bearer token, if the server wants one.
    pub api_key: Option<String>,
    /// Connect timeout (`5s`).
    #[serde(alias = "connect_timeout_ms", with = "lore_core::duration::millis")]
    pub connect_timeout: Duration,
    /// Longest wait for the response head and for each read of the body (`60s`).
    #[serde(alias = "read_timeout_ms", with = "lore_core::duration::millis")]
    pub read_timeout: Duration,
    /// Retries after the first attempt on 429, 5xx or a refused connection.
    pub max_retries: u32,
    /// First backoff delay (`500ms`); doubled per retry.
    #[serde(alias = "backoff_ms", with = "lore_core::duration::millis")]
    pub backoff: Duration,
    /// Longest delay between attempts (and the longest `Retry-After` honoured; `8s`).
    #[serde(alias = "max_backoff_ms", with = "lore_core::duration::millis")]
    pub max_backoff: Duration,
    /// The model's context window, tokens.
    pub context_window: usize,
    /// The model's `tokenizer.json` (Hugging Face format), for exact prompt budgets.
    pub tokenizer: Option<PathBuf>,
    /// Stream tokens over SSE (`true`) or take the whole answer in one response.
    pub stream: bool,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            base_url: String::new(),
            model: String::new(),
            api_key: None,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(60),
            max_retries: 2,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            context_window: 8_192,
            tokenizer: None,
            stream: true,
        }
    }
}

impl OpenAiConfig {
    fn url(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }
}

/// One endpoint: its settings and HTTP client (also a member of a [`crate::TierPool`]).
pub(crate) struct Endpoint {
    pub(crate) config: OpenAiConfig,
    client: Client,
    url: String,
}

impl Endpoint {
    /// Asks the server for its model list (health checks, the tier prober), 2 s at most.
    pub(crate) fn probe(&self) -> Result<String, LlmError> {
        let url = format!("{}/models", self.config.base_url.trim_end_matches('/'));
        let mut req = self.client.get(&url).timeout(Duration::from_secs(2));
        if let Some(key) = &self.config.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().map_err(|e| LlmError::Unreachable {
            url: url.clone(),
            message: e.to_string(),
        })?;
        if !resp.status().is_success() {
            return Err(LlmError::Status {
                url,
                status: resp.status().as_u16(),
                body: String::new(),
            });
        }
        Ok(format!("GET {url}: {}", resp.status()))
    }

    pub(crate) fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        if config.base_url.is_empty() || config.model.is_empty() {
            return Err(LlmError::Config(
                "the openai generator needs a base URL and a model (LORE_LLM_BASE_URL, LORE_LLM_MODEL or [llm.openai] in lore.toml)".into(),
            ));
        }
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(LlmError::Config(format!(
                "base URL {:?} must start with http:// or https://",
                config.base_url
            )));
        }
        let client = Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.read_timeout)
            .build()
            .map_err(|e| LlmError::Config(format!("HTTP client: {e}")))?;
        let url = config.url();
        Ok(Endpoint {
            config,
            client,
            url,
        })
    }

    fn body(&self, request: &GenerateRequest) -> Value {
        let mut body = json!({
            "model": self.config.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": self.config.stream,
        });
        if self.config.stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        if let Some(schema) = &request.json_schema {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "output", "strict": true, "schema": schema},
            });
        }
        if !request.stop.is_empty() {
            // The API takes up to 4; lore also cuts locally, for servers that ignore them.
            body["stop"] = json!(request.stop.iter().take(4).collect::<Vec<_>>());
        }
        body
    }

    /// Sends the request, retrying 429/5xx and refused connections; returns a 2xx response.
    fn send(&self, body: &Value) -> Result<Response, LlmError> {
        let mut attempt = 0;
        loop {
            let mut req = self.client.post(&self.url).json(body);
            if let Some(key) = &self.config.api_key {
                req = req.bearer_auth(key);
            }
            let retry_in = match req.send() {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(&resp);
                    let text = resp.text().unwrap_or_default();
                    let err = LlmError::Status {
                        url: self.url.clone(),
                        status: status.as_u16(),
                        body: truncate(&text, 300),
                    };
                    if !(status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                        || attempt >= self.config.max_retries
                    {
                        return Err(err);
                    }
                    match retry_after {
                        Some(d) if d > self.config.max_backoff => return Err(err),
                        Some(d) => d,
                        None => self.backoff(attempt),
                    }
                }
                Err(e) => {
                    let err = LlmError::Unreachable {
                        url: self.url.clone(),
                        message: error_chain(&e),
                    };
                    // A timeout already cost read_timeout; only quick failures are retried.
                    if e.is_timeout() || !e.is_connect() || attempt >= self.config.max_retries {
                        return Err(err);
                    }
                    self.backoff(attempt)
                }
            };
            tracing::warn!(url = %self.url, attempt, delay_ms = retry_in.as_millis() as u64, "LLM call failed, retrying");
            std::thread::sleep(retry_in);
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let delay = self.config.backoff.saturating_mul(1u32 << attempt.min(16));
        delay.min(self.config.max_backoff)
    }

    pub(crate) fn generate(
        &self,
        request: &GenerateRequest,
        on_token: TokenSink<'_>,
        emitted: &mut bool,
    ) -> Result<Generation, LlmError> {
        let body = self.body(request);
        let resp = self.send(&body)?;
        let (text, usage) = if self.config.stream {
            self.read_stream(resp, &request.stop, &request.cancel, on_token, emitted)?
        } else {
            let value: Value = resp.json().map_err(|e| LlmError::Malformed {
                url: self.url.clone(),
                message: error_chain(&e),
            })?;
            let content = value["choices"][0]["message"]["content"]
                .as_str()
                .ok_or_else(|| LlmError::Malformed {
                    url: self.url.clone(),
                    message: "no choices[0].message.content".into(),
                })?;
            // Servers that ignore `stop` are cut here, as in the stream.
            let mut filter = StopFilter::new(&request.stop);
            filter.push(content);
            let text = filter.into_text();
            if !text.is_empty() {
                *emitted = true;
                on_token(&text);
            }
            (text, parse_usage(&value))
        };
        Ok(Generation {
            text,
            generator: crate::GeneratorKind::OpenAi,
            model: self.config.model.clone(),
            usage: usage.unwrap_or_default(),
            notice: None,
            endpoint: None,
        })
    }

    fn read_stream(
        &self,
        resp: Response,
        stop: &[String],
        cancel: &lore_core::Cancel,
        on_token: TokenSink<'_>,
        emitted: &mut bool,
    ) -> Result<(String, Option<Usage>), LlmError> {
        let mut reader = SseReader::new(BufReader::new(resp));
        let mut filter = StopFilter::new(stop);
        let mut usage = None;
        let mut finished = false;
        loop {
            if cancel.is_cancelled() {
                // The caller has gone: closing the response ends the server's generation.
                break;
            }
            let data = reader.next_data().map_err(|e| LlmError::Stream {
                url: self.url.clone(),
                message: error_chain(&e),
            })?;
            let Some(data) = data else {
                // The spec ends a stream with [DONE]; a stream that just stops was cut off,
                // unless a finish_reason already came (some servers omit [DONE]).
                if finished {
                    break;
                }
                return Err(LlmError::Stream {
                    url: self.url.clone(),
                    message: "stream closed before [DONE]".into(),
                });
            };
            if data.trim() == "[DONE]" {
                break;
            }
            let chunk: Value = serde_json::from_str(&data).map_err(|e| LlmError::Malformed {
                url: self.url.clone(),
                message: format!("SSE data is not JSON ({e}): {}", truncate(&data, 120)),
            })?;
            if let Some(err) = chunk.get("error") {
                return Err(LlmError::Stream {
                    url: self.url.clone(),
                    message: truncate(&err.to_string(), 300),
                });
            }
            if !chunk.is_object() {
                return Err(LlmError::Malformed {
                    url: self.url.clone(),
                    message: format!(
                        "SSE data is not a chat completion chunk: {}",
                        truncate(&data, 120)
                    ),
                });
            }
            if let Some(u) = parse_usage(&chunk) {
                usage = Some(u);
            }
            let choice = &chunk["choices"][0];
            if let Some(piece) = choice["delta"]["content"].as_str() {
                let ready = filter.push(piece);
                if !ready.is_empty() {
                    *emitted = true;
                    on_token(ready);
                }
                if filter.stopped() {
                    // The rest of the stream is the invented turn: stop reading it.
                    break;
                }
            }
            if choice["finish_reason"].is_string() {
                finished = true;
            }
        }
        let rest = filter.finish();
        if !rest.is_empty() {
            *emitted = true;
            on_token(rest);
        }
        Ok((filter.into_text(), usage))
    }
}

fn parse_usage(value: &Value) -> Option<Usage> {
    let u = value.get("usage")?;
    Some(Usage {
        prompt_tokens: u["prompt_tokens"].as_u64()? as usize,
        completion_tokens: u["completion_tokens"].as_u64().unwrap_or(0) as usize,
    })
}

/// `Retry-After` in its delay-seconds form; the HTTP-date form is ignored (backoff applies).
fn retry_after(resp: &Response) -> Option<Duration> {
    let value = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_msg = s.to_string();
        if !msg.contains(&s_msg) {
            msg.push_str(": ");
            msg.push_str(&s_msg);
        }
        source = s.source();
    }
    msg
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// An OpenAI-compatible endpoint, with an optional fallback endpoint.
pub struct OpenAiGenerator {
    primary: Endpoint,
    fallback: Option<Endpoint>,
    tokenizer: Option<tokenizers::Tokenizer>,
}

impl OpenAiGenerator {
    /// # Errors
    /// [`LlmError::Config`] for a missing base URL or model, a bad URL, or an unreadable
    /// tokenizer file.
    pub fn new(primary: OpenAiConfig, fallback: Option<OpenAiConfig>) -> Result<Self, LlmError> {
        let tokenizer = match &primary.tokenizer {
            Some(path) => Some(
                tokenizers::Tokenizer::from_file(path)
                    .map_err(|e| LlmError::Config(format!("tokenizer {}: {e}", path.display())))?,
            ),
            None => None,
        };
        Ok(OpenAiGenerator {
            primary: Endpoint::new(primary)?,
            fallback: fallback.map(Endpoint::new).transpose()?,
            tokenizer,
        })
    }
}

impl Generator for OpenAiGenerator {
    fn probe(&self) -> Result<String, LlmError> {
        self.primary.probe()
    }

    fn kind(&self) -> crate::GeneratorKind {
        crate::GeneratorKind::OpenAi
    }

    fn model(&self) -> String {
        self.primary.config.model.clone()
    }

    fn context_window(&self) -> usize {
        let fallback = self
            .fallback
            .as_ref()
            .map_or(usize::MAX, |f| f.config.context_window);
        self.primary.config.context_window.min(fallback)
    }

    fn count_tokens(&self, text: &str) -> usize {
        match &self.tokenizer {
            Some(t) => t
                .encode(text, false)
                .map(|e| e.len())
                .unwrap_or(text.len().div_ceil(3)),
            // BPE vocabularies of current chat models average ~4 bytes per English token;
            // one per 3 bytes leaves head-room for code, numbers and other languages.
            None => text.len().div_ceil(3),
        }
    }

    fn generate(
        &self,
        request: &GenerateRequest,
        on_token: TokenSink<'_>,
    ) -> Result<Generation, LlmError> {
        let mut emitted = false;
        match self.primary.generate(request, &mut *on_token, &mut emitted) {
            Ok(g) => Ok(g),
            Err(e) if e.is_unavailable() && !emitted && self.fallback.is_some() => {
                let fallback = self.fallback.as_ref().expect("checked above");
                tracing::warn!(error = %e, fallback = %fallback.url, "primary LLM failed, trying the fallback");
                let mut g = fallback.generate(request, on_token, &mut emitted)?;
                g.notice = Some(format!(
                    "answered by the fallback model {} because the primary failed: {e}",
                    fallback.config.model
                ));
                Ok(g)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_needs_url_and_model() {
        let err = OpenAiGenerator::new(OpenAiConfig::default(), None)
            .err()
            .expect("must fail");
        assert!(err.to_string().contains("LORE_LLM_BASE_URL"), "{err}");
        let bad = OpenAiConfig {
            base_url: "localhost:8000".into(),
            model: "m".into(),
            ..Default::default()
        };
        assert!(OpenAiGenerator::new(bad, None).is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let ep = Endpoint::new(OpenAiConfig {
            base_url: "http://x/v1".into(),
            model: "m".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ep.backoff(0), Duration::from_millis(500));
        assert_eq!(ep.backoff(2), Duration::from_millis(2000));
        assert_eq!(ep.backoff(10), Duration::from_millis(8000));
        assert_eq!(ep.url, "http://x/v1/chat/completions");
    }
}

//! realm-wasm: a small fixture modelled on an LLM-orchestrator's wasm crate.
//!
//! Compiled with wasm-bindgen 0.2.83 *without* the wasm-bindgen CLI, so the
//! module is raw macro output: imports from `__wbindgen_placeholder__`,
//! `__wbindgen_describe_*` exports and the `__wasm_bindgen_unstable` custom
//! section are all still present. See README.md for the full surface.

use core::sync::atomic::{AtomicU32, Ordering};
use wasm_bindgen::prelude::*;

mod gguf;
mod json;
mod rt;
mod truth;

// ---------------------------------------------------------------------------
// Host imports
// ---------------------------------------------------------------------------

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn log(s: &str);
}

// Plain (non wasm-bindgen) imports provided by the host under module `env`.
#[link(wasm_import_module = "env")]
extern "C" {
    /// Hands the model bytes to the host. Non-zero return = refused.
    fn realm_store_model(ptr: *const u8, len: u32, model_id: u32) -> i32;
    /// Returns the next token id for the sequence, or a negative value to stop.
    fn realm_next_token(model_id: u32, tokens_ptr: *const u32, tokens_len: u32) -> i32;
}

/// Next model id handed to the host; starts at 1 and is never reused
/// (an id is consumed even when the host refuses the model).
static NEXT_MODEL_ID: AtomicU32 = AtomicU32::new(1);

// ---------------------------------------------------------------------------
// Plain Rust state
// ---------------------------------------------------------------------------

/// Metadata of the loaded model (the bytes themselves live on the host).
pub struct Model {
    pub name: String,
    pub architecture: String,
    pub n_tensors: u64,
    pub data_len: usize,
}

pub struct Tokenizer {
    pub vocab: Vec<String>,
}

pub struct TransformerConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub context_length: usize,
    pub rope_theta: f32,
    pub rms_norm_eps: f32,
}

pub struct KvCache {
    pub layer: usize,
    pub keys: Vec<f32>,
    pub values: Vec<f32>,
}

// ---------------------------------------------------------------------------
// WasmGenerationConfig
// ---------------------------------------------------------------------------

#[wasm_bindgen]
#[derive(Clone, Debug)]
pub struct WasmGenerationConfig {
    max_tokens: usize,
    temperature: f32,
    top_p: f32,
    top_k: usize,
    repetition_penalty: f32,
}

impl Default for WasmGenerationConfig {
    fn default() -> Self {
        WasmGenerationConfig {
            max_tokens: 128,
            temperature: 0.7,
            top_p: 0.9,
            top_k: 40,
            repetition_penalty: 1.1,
        }
    }
}

#[wasm_bindgen]
impl WasmGenerationConfig {
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmGenerationConfig {
        WasmGenerationConfig::default()
    }

    #[wasm_bindgen(getter, js_name = maxTokens)]
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }
    #[wasm_bindgen(setter, js_name = maxTokens)]
    pub fn set_max_tokens(&mut self, v: usize) {
        self.max_tokens = v;
    }
    #[wasm_bindgen(getter, js_name = temperature)]
    pub fn temperature(&self) -> f32 {
        self.temperature
    }
    #[wasm_bindgen(setter, js_name = temperature)]
    pub fn set_temperature(&mut self, v: f32) {
        self.temperature = v;
    }
    #[wasm_bindgen(getter, js_name = topP)]
    pub fn top_p(&self) -> f32 {
        self.top_p
    }
    #[wasm_bindgen(setter, js_name = topP)]
    pub fn set_top_p(&mut self, v: f32) {
        self.top_p = v;
    }
    #[wasm_bindgen(getter, js_name = topK)]
    pub fn top_k(&self) -> usize {
        self.top_k
    }
    #[wasm_bindgen(setter, js_name = topK)]
    pub fn set_top_k(&mut self, v: usize) {
        self.top_k = v;
    }
    #[wasm_bindgen(getter, js_name = repetitionPenalty)]
    pub fn repetition_penalty(&self) -> f32 {
        self.repetition_penalty
    }
    #[wasm_bindgen(setter, js_name = repetitionPenalty)]
    pub fn set_repetition_penalty(&mut self, v: f32) {
        self.repetition_penalty = v;
    }
}

impl WasmGenerationConfig {
    /// Parses the flat JSON accepted by `Realm.withConfig`.
    fn from_json(src: &str) -> Result<WasmGenerationConfig, String> {
        let pairs = json::parse_flat_object(src)?;
        let mut cfg = WasmGenerationConfig::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in pairs.iter() {
            if seen.iter().any(|k| *k == key.as_str()) {
                return Err(format!("duplicate key \"{}\"", key));
            }
            seen.push(key.as_str());
            let (num, is_int) = match *value {
                json::Value::Number(n, i) => (n, i),
                json::Value::Other(kind) => {
                    return Err(format!("{} must be a number, got {}", key, kind))
                }
            };
            let as_count = || -> Result<usize, String> {
                if !is_int || num < 0.0 || num > u32::MAX as f64 {
                    Err(format!("{} must be a non-negative integer", key))
                } else {
                    Ok(num as usize)
                }
            };
            let as_float = || -> Result<f32, String> {
                let f = num as f32;
                if f.is_finite() {
                    Ok(f)
                } else {
                    Err(format!("{} is out of range", key))
                }
            };
            match key.as_str() {
                "max_tokens" => cfg.max_tokens = as_count()?,
                "temperature" => cfg.temperature = as_float()?,
                "top_p" => cfg.top_p = as_float()?,
                "top_k" => cfg.top_k = as_count()?,
                "repetition_penalty" => cfg.repetition_penalty = as_float()?,
                other => {
                    let mut quoted = String::new();
                    json::push_str_literal(&mut quoted, other);
                    return Err(format!("unknown key {}", quoted));
                }
            }
        }
        Ok(cfg)
    }
}

// ---------------------------------------------------------------------------
// Realm
// ---------------------------------------------------------------------------

#[wasm_bindgen]
pub struct Realm {
    model: Option<Model>,
    tokenizer: Option<Tokenizer>,
    model_id: Option<u32>,
    transformer_config: Option<TransformerConfig>,
    config: WasmGenerationConfig,
    kv_caches: Option<Vec<KvCache>>,
}

impl Realm {
    /// The state every constructor starts from (no logging, no host calls).
    pub(crate) fn empty() -> Realm {
        Realm {
            model: None,
            tokenizer: None,
            model_id: None,
            transformer_config: None,
            config: WasmGenerationConfig::default(),
            kv_caches: None,
        }
    }

    /// Greedy longest-match tokenisation over the vocabulary, at char
    /// boundaries. A position where no (non-empty) vocab entry matches emits
    /// id 0 and skips one char. Ties (duplicate vocab strings) go to the
    /// lowest id.
    fn tokenize(&self, text: &str) -> Vec<u32> {
        let vocab: &[String] = match &self.tokenizer {
            Some(t) => &t.vocab,
            None => &[],
        };
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let mut best: Option<(usize, u32)> = None; // (byte len, id)
            for (id, tok) in vocab.iter().enumerate() {
                let len = tok.len();
                if len == 0 || !rest.starts_with(tok.as_str()) {
                    continue;
                }
                if best.map_or(true, |(l, _)| len > l) {
                    best = Some((len, id as u32));
                }
            }
            match best {
                Some((len, id)) => {
                    out.push(id);
                    rest = &rest[len..];
                }
                None => {
                    out.push(0);
                    let skip = rest.chars().next().map_or(1, |c| c.len_utf8());
                    rest = &rest[skip..];
                }
            }
        }
        out
    }
}

#[wasm_bindgen]
impl Realm {
    /// `new Realm()`; never fails but keeps the `Result` ABI (retptr).
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<Realm, JsValue> {
        log("realm: new Realm created");
        Ok(Realm::empty())
    }

    /// `Realm.withConfig(json)`: a Realm with a generation config parsed from
    /// a flat JSON object. Missing keys keep their defaults.
    #[wasm_bindgen(js_name = withConfig)]
    pub fn with_config(json: &str) -> Result<Realm, JsValue> {
        match WasmGenerationConfig::from_json(json) {
            Ok(cfg) => {
                log("realm: new Realm created with config");
                let mut r = Realm::empty();
                r.config = cfg;
                Ok(r)
            }
            Err(reason) => Err(JsValue::from_str(&format!("invalid config: {}", reason))),
        }
    }

    /// Parses a GGUF v3 header, hands the bytes to the host and records the
    /// model metadata, tokenizer and transformer config.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        let header = gguf::parse(bytes).map_err(|e| JsError::new(&e))?;

        let architecture = header
            .get("general.architecture")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let name = header
            .get("general.name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let arch_u = |suffix: &str| -> Option<usize> {
            if architecture.is_empty() {
                return None;
            }
            header
                .get(&format!("{}.{}", architecture, suffix))
                .and_then(|v| v.as_u64())
                .map(|v| v as usize)
        };
        let arch_f = |suffix: &str| -> Option<f32> {
            if architecture.is_empty() {
                return None;
            }
            header
                .get(&format!("{}.{}", architecture, suffix))
                .and_then(|v| v.as_f64())
                .map(|v| v as f32)
        };
        let vocab = header.tokens.clone().unwrap_or_default();
        let num_layers = arch_u("block_count").unwrap_or(0);
        let tcfg = TransformerConfig {
            vocab_size: vocab.len(),
            hidden_size: arch_u("embedding_length").unwrap_or(0),
            num_layers,
            num_heads: arch_u("attention.head_count").unwrap_or(0),
            context_length: arch_u("context_length").unwrap_or(0),
            rope_theta: arch_f("rope.freq_base").unwrap_or(10000.0),
            rms_norm_eps: arch_f("attention.layer_norm_rms_epsilon").unwrap_or(1e-5),
        };

        let model_id = NEXT_MODEL_ID.fetch_add(1, Ordering::Relaxed);
        let code = unsafe { realm_store_model(bytes.as_ptr(), bytes.len() as u32, model_id) };
        if code != 0 {
            return Err(JsError::new(&format!("host refused model: code {}", code)));
        }

        log(&format!(
            "realm: loaded model {:?} ({}) as id {}: {} tensors, {} vocab entries",
            name,
            architecture,
            model_id,
            header.tensor_count,
            vocab.len()
        ));
        self.model = Some(Model {
            name,
            architecture,
            n_tensors: header.tensor_count,
            data_len: bytes.len(),
        });
        self.tokenizer = Some(Tokenizer { vocab });
        self.model_id = Some(model_id);
        self.kv_caches = Some(
            (0..num_layers)
                .map(|layer| KvCache {
                    layer,
                    keys: Vec::new(),
                    values: Vec::new(),
                })
                .collect(),
        );
        self.transformer_config = Some(tcfg);
        Ok(())
    }

    #[wasm_bindgen(js_name = isLoaded)]
    pub fn is_loaded(&self) -> bool {
        self.model.is_some() && self.model_id.is_some()
    }

    /// JSON: {"loaded","name","architecture","context_length","vocab_size","model_id"}
    #[wasm_bindgen(js_name = modelInfo)]
    pub fn model_info(&self) -> String {
        let mut s = String::from("{\"loaded\":");
        s.push_str(if self.is_loaded() { "true" } else { "false" });
        s.push_str(",\"name\":");
        match &self.model {
            Some(m) => json::push_str_literal(&mut s, &m.name),
            None => s.push_str("null"),
        }
        s.push_str(",\"architecture\":");
        match &self.model {
            Some(m) => json::push_str_literal(&mut s, &m.architecture),
            None => s.push_str("null"),
        }
        s.push_str(",\"context_length\":");
        match &self.transformer_config {
            Some(t) => s.push_str(&t.context_length.to_string()),
            None => s.push_str("null"),
        }
        s.push_str(",\"vocab_size\":");
        match &self.tokenizer {
            Some(t) => s.push_str(&t.vocab.len().to_string()),
            None => s.push_str("null"),
        }
        s.push_str(",\"model_id\":");
        match self.model_id {
            Some(id) => s.push_str(&id.to_string()),
            None => s.push_str("null"),
        }
        s.push('}');
        s
    }

    /// Tokenises `prompt`, then asks the host for up to `maxTokens` next
    /// tokens (`env.realm_next_token`), concatenating their vocab strings.
    /// The wasm-bindgen borrow flag of this Realm is held (mutably) while the
    /// host import runs.
    pub fn generate(&mut self, prompt: &str) -> Result<String, JsError> {
        let model_id = match (self.is_loaded(), self.model_id) {
            (true, Some(id)) => id,
            _ => return Err(JsError::new("no model loaded: call loadModel first")),
        };
        let mut tokens = self.tokenize(prompt);
        if let Some(caches) = self.kv_caches.as_mut() {
            for c in caches.iter_mut() {
                c.keys.clear();
                c.values.clear();
            }
        }
        let vocab_len = self.tokenizer.as_ref().map_or(0, |t| t.vocab.len());
        let mut out = String::new();
        for _ in 0..self.config.max_tokens {
            let next =
                unsafe { realm_next_token(model_id, tokens.as_ptr(), tokens.len() as u32) };
            if next < 0 {
                break;
            }
            let id = next as u32;
            if id as usize >= vocab_len {
                return Err(JsError::new(&format!(
                    "host returned token id {} out of range (vocab size {})",
                    id, vocab_len
                )));
            }
            tokens.push(id);
            if let Some(t) = &self.tokenizer {
                out.push_str(&t.vocab[id as usize]);
            }
        }
        Ok(out)
    }

    /// Copy of the current generation config (a new class instance).
    pub fn config(&self) -> WasmGenerationConfig {
        self.config.clone()
    }

    #[wasm_bindgen(js_name = setConfig)]
    pub fn set_config(&mut self, config: &WasmGenerationConfig) {
        self.config = config.clone();
    }

    #[wasm_bindgen(getter, js_name = maxTokens)]
    pub fn max_tokens(&self) -> usize {
        self.config.max_tokens
    }
    #[wasm_bindgen(setter, js_name = maxTokens)]
    pub fn set_max_tokens(&mut self, v: usize) {
        self.config.max_tokens = v;
    }
    #[wasm_bindgen(getter, js_name = temperature)]
    pub fn temperature(&self) -> f32 {
        self.config.temperature
    }
    #[wasm_bindgen(setter, js_name = temperature)]
    pub fn set_temperature(&mut self, v: f32) {
        self.config.temperature = v;
    }
    #[wasm_bindgen(getter, js_name = topP)]
    pub fn top_p(&self) -> f32 {
        self.config.top_p
    }
    #[wasm_bindgen(setter, js_name = topP)]
    pub fn set_top_p(&mut self, v: f32) {
        self.config.top_p = v;
    }
    #[wasm_bindgen(getter, js_name = topK)]
    pub fn top_k(&self) -> usize {
        self.config.top_k
    }
    #[wasm_bindgen(setter, js_name = topK)]
    pub fn set_top_k(&mut self, v: usize) {
        self.config.top_k = v;
    }
    #[wasm_bindgen(getter, js_name = repetitionPenalty)]
    pub fn repetition_penalty(&self) -> f32 {
        self.config.repetition_penalty
    }
    #[wasm_bindgen(setter, js_name = repetitionPenalty)]
    pub fn set_repetition_penalty(&mut self, v: f32) {
        self.config.repetition_penalty = v;
    }
}

/// Takes a Realm by reference (exercises `RefFromWasmAbi`): is it loaded?
#[wasm_bindgen]
pub fn realm_by_ref(r: &Realm) -> bool {
    r.is_loaded()
}

// ---------------------------------------------------------------------------
// "Pattern 2": plain C exports over a plain Box<Realm> (no WasmRefCell)
// ---------------------------------------------------------------------------

#[no_mangle]
pub extern "C" fn realm_c_new() -> *mut Realm {
    Box::into_raw(Box::new(Realm::empty()))
}

/// # Safety
/// `p` must come from `realm_c_new` and not have been freed; null is ignored.
#[no_mangle]
pub unsafe extern "C" fn realm_c_free(p: *mut Realm) {
    if !p.is_null() {
        drop(Box::from_raw(p));
    }
}

/// 1 if loaded, 0 if not, -1 for a null pointer.
///
/// # Safety
/// `p` must be null or a live pointer from `realm_c_new`.
#[no_mangle]
pub unsafe extern "C" fn realm_c_is_loaded(p: *const Realm) -> i32 {
    match p.as_ref() {
        None => -1,
        Some(r) => r.is_loaded() as i32,
    }
}

//! Minimal GGUF v3 header reader.
//!
//! Layout (all little-endian):
//!   magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count | kv pairs...
//! kv pair: gguf_string key | u32 value_type | value
//! gguf_string: u64 byte length | utf-8 bytes
//! value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool,
//!              8 string, 9 array (u32 elem type | u64 count | elems),
//!              10 u64, 11 i64, 12 f64
//!
//! Only the header and metadata are read; tensor infos and data are not
//! interpreted (the host keeps the raw bytes).

pub const GGUF_MAGIC: &[u8; 4] = b"GGUF";
pub const GGUF_VERSION: u32 = 3;

const T_U8: u32 = 0;
const T_I8: u32 = 1;
const T_U16: u32 = 2;
const T_I16: u32 = 3;
const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_F32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;
const T_U64: u32 = 10;
const T_I64: u32 = 11;
const T_F64: u32 = 12;

/// A scalar metadata value we may want to keep.
#[derive(Clone, Debug)]
pub enum Scalar {
    Int(i128),
    Float(f64),
    Bool(bool),
    Str(String),
}

impl Scalar {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Scalar::Int(v) if v >= 0 && v <= u64::MAX as i128 => Some(v as u64),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Scalar::Float(v) => Some(v),
            Scalar::Int(v) => Some(v as f64),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }
}

/// Everything extracted from a GGUF header.
#[derive(Debug, Default)]
pub struct Header {
    pub version: u32,
    pub tensor_count: u64,
    pub kv_count: u64,
    /// Scalar-valued metadata, in file order (arrays are not stored here).
    pub scalars: Vec<(String, Scalar)>,
    /// `tokenizer.ggml.tokens`, if present as an array of strings.
    pub tokens: Option<Vec<String>>,
}

impl Header {
    pub fn get(&self, key: &str) -> Option<&Scalar> {
        self.scalars.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let remaining = self.buf.len() - self.pos;
        if n > remaining {
            return Err(format!(
                "truncated GGUF: need {} bytes for {} at offset {}, only {} left",
                n, what, self.pos, remaining
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn string(&mut self, what: &str) -> Result<String, String> {
        let len = self.u64(what)?;
        if len > self.remaining() as u64 {
            return Err(format!(
                "truncated GGUF: string length {} for {} at offset {} exceeds the {} bytes left",
                len,
                what,
                self.pos,
                self.remaining()
            ));
        }
        let at = self.pos;
        let bytes = self.take(len as usize, what)?;
        match core::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => Err(format!("invalid UTF-8 in {} at offset {}", what, at)),
        }
    }

    /// Reads a scalar of the given (non-array) type.
    fn scalar(&mut self, ty: u32, what: &str) -> Result<Scalar, String> {
        Ok(match ty {
            T_U8 => Scalar::Int(self.u8(what)? as i128),
            T_I8 => Scalar::Int(self.u8(what)? as i8 as i128),
            T_U16 => Scalar::Int(self.u16(what)? as i128),
            T_I16 => Scalar::Int(self.u16(what)? as i16 as i128),
            T_U32 => Scalar::Int(self.u32(what)? as i128),
            T_I32 => Scalar::Int(self.u32(what)? as i32 as i128),
            T_F32 => Scalar::Float(f32::from_bits(self.u32(what)?) as f64),
            T_BOOL => {
                let b = self.u8(what)?;
                if b > 1 {
                    return Err(format!("invalid bool value {} for {}", b, what));
                }
                Scalar::Bool(b == 1)
            }
            T_STRING => Scalar::Str(self.string(what)?),
            T_U64 => Scalar::Int(self.u64(what)? as i128),
            T_I64 => Scalar::Int(self.u64(what)? as i64 as i128),
            T_F64 => Scalar::Float(f64::from_bits(self.u64(what)?)),
            other => return Err(format!("unknown GGUF value type {} for {}", other, what)),
        })
    }

    /// Fixed byte width of a scalar type, None for strings/arrays/unknown.
    fn fixed_width(ty: u32) -> Option<usize> {
        match ty {
            T_U8 | T_I8 | T_BOOL => Some(1),
            T_U16 | T_I16 => Some(2),
            T_U32 | T_I32 | T_F32 => Some(4),
            T_U64 | T_I64 | T_F64 => Some(8),
            _ => None,
        }
    }

    /// Reads (or skips) an array value. Returns the strings when `keep_strings`
    /// and the element type is string.
    fn array(&mut self, what: &str, keep_strings: bool) -> Result<Option<Vec<String>>, String> {
        let elem_ty = self.u32(what)?;
        let count = self.u64(what)?;
        if let Some(w) = Self::fixed_width(elem_ty) {
            let total = (count as u128) * (w as u128);
            if total > self.remaining() as u128 {
                return Err(format!(
                    "truncated GGUF: array {} of {} x {}-byte elements exceeds the {} bytes left",
                    what,
                    count,
                    w,
                    self.remaining()
                ));
            }
            self.take(total as usize, what)?;
            return Ok(None);
        }
        match elem_ty {
            T_STRING => {
                // Each string needs at least its 8-byte length prefix.
                if (count as u128) * 8 > self.remaining() as u128 {
                    return Err(format!(
                        "truncated GGUF: string array {} with {} elements exceeds the {} bytes left",
                        what,
                        count,
                        self.remaining()
                    ));
                }
                let mut out = if keep_strings {
                    Vec::with_capacity(count as usize)
                } else {
                    Vec::new()
                };
                for _ in 0..count {
                    let s = self.string(what)?;
                    if keep_strings {
                        out.push(s);
                    }
                }
                Ok(if keep_strings { Some(out) } else { None })
            }
            T_ARRAY => {
                // Nested arrays: each needs at least 12 bytes of header.
                if (count as u128) * 12 > self.remaining() as u128 {
                    return Err(format!(
                        "truncated GGUF: nested array {} with {} elements exceeds the {} bytes left",
                        what,
                        count,
                        self.remaining()
                    ));
                }
                for _ in 0..count {
                    self.array(what, false)?;
                }
                Ok(None)
            }
            other => Err(format!("unknown GGUF array element type {} for {}", other, what)),
        }
    }
}

/// Parses the GGUF header and metadata key/value section.
pub fn parse(bytes: &[u8]) -> Result<Header, String> {
    let mut r = Reader { buf: bytes, pos: 0 };
    if bytes.len() < 4 {
        return Err(format!(
            "not a GGUF file: {} bytes is too short for the magic",
            bytes.len()
        ));
    }
    let magic = r.take(4, "magic")?;
    if magic != GGUF_MAGIC {
        return Err(format!(
            "not a GGUF file: bad magic {:02x} {:02x} {:02x} {:02x} (expected \"GGUF\")",
            magic[0], magic[1], magic[2], magic[3]
        ));
    }
    let version = r.u32("version")?;
    if version != GGUF_VERSION {
        return Err(format!(
            "unsupported GGUF version {} (only version 3 is supported)",
            version
        ));
    }
    let tensor_count = r.u64("tensor_count")?;
    let kv_count = r.u64("kv_count")?;
    let mut h = Header {
        version,
        tensor_count,
        kv_count,
        scalars: Vec::new(),
        tokens: None,
    };
    for i in 0..kv_count {
        let key = r.string(&format!("key #{}", i))?;
        let ty = r.u32(&key)?;
        if ty == T_ARRAY {
            let want = key == "tokenizer.ggml.tokens";
            if let Some(v) = r.array(&key, want)? {
                h.tokens = Some(v);
            }
        } else {
            let v = r.scalar(ty, &key)?;
            h.scalars.push((key, v));
        }
    }
    Ok(h)
}

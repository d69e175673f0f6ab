//! Trino's regexp functions: `regexp_replace` replaces every match, `regexp_extract_all`.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

/// The pattern of a regexp function, row by row: compiled once when it is a constant, and once
/// per distinct run of equal values otherwise. The `Regex` is lent, never cloned: each clone gets
/// a fresh search cache, which for Unicode classes costs more than the search itself.
pub(super) enum Patterns<'a> {
    Constant(Option<Regex>),
    PerRow {
        name: &'a str,
        strings: ArrayRef,
        current: Option<(String, Regex)>,
    },
}

impl<'a> Patterns<'a> {
    fn new(name: &'a str, pattern: &ColumnarValue, rows: usize) -> Result<Patterns<'a>> {
        Ok(match pattern {
            ColumnarValue::Scalar(value) => {
                Patterns::Constant(scalar_str(value).map(|p| compile(name, p)).transpose()?)
            }
            ColumnarValue::Array(_) => Patterns::PerRow {
                name,
                strings: utf8(pattern, rows)?,
                current: None,
            },
        })
    }

    /// The pattern of row `i` (none where it is null).
    fn at(&mut self, i: usize) -> Result<Option<&Regex>> {
        match self {
            Patterns::Constant(regex) => Ok(regex.as_ref()),
            Patterns::PerRow {
                name,
                strings,
                current,
            } => {
                let strings = strings.as_string::<i32>();
                if strings.is_null(i) {
                    return Ok(None);
                }
                let text = strings.value(i);
                if current.as_ref().is_none_or(|(p, _)| p != text) {
                    *current = Some((text.to_owned(), compile(name, text)?));
                }
                Ok(current.as_ref().map(|(_, regex)| regex))
            }
        }
    }
}

pub(super) fn compile(name: &str, pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|e| {
        DataFusionError::Execution(format!("{name}(): invalid regular expression: {e}"))
    })
}

pub(super) fn scalar_str(value: &ScalarValue) -> Option<&str> {
    value.try_as_str().flatten()
}

/// Strings of any string type, as one Utf8 array.
pub(super) fn utf8(value: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    Ok(datafusion::arrow::compute::cast(
        &value.to_array(rows)?,
        &DataType::Utf8,
    )?)
}

/// Trino's `regexp_replace(string, pattern[, replacement])`: replaces every match (DataFusion's
/// replaces the first unless given the `g` flag); without a replacement it removes them.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct RegexpReplace {
    signature: Signature,
}

impl RegexpReplace {
    pub(super) fn new() -> RegexpReplace {
        RegexpReplace {
            signature: Signature::one_of(
                vec![
                    datafusion::logical_expr::TypeSignature::String(2),
                    datafusion::logical_expr::TypeSignature::String(3),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for RegexpReplace {
    fn name(&self) -> &str {
        "regexp_replace"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let input = utf8(&args.args[0], rows)?;
        let input = input.as_string::<i32>();
        let mut patterns = Patterns::new(self.name(), &args.args[1], rows)?;
        let replacement = match args.args.get(2) {
            Some(r) => Some(utf8(r, rows)?),
            None => None,
        };
        let mut out = StringBuilder::with_capacity(input.len(), input.value_data().len());
        for i in 0..input.len() {
            let with = match &replacement {
                Some(r) if r.is_null(i) => None,
                Some(r) => Some(r.as_string::<i32>().value(i)),
                None => Some(""),
            };
            match (input.is_null(i), patterns.at(i)?, with) {
                (false, Some(regex), Some(with)) => {
                    out.append_value(regex.replace_all(input.value(i), with))
                }
                _ => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Trino's `regexp_extract_all(string, pattern[, group])`: every match (or group of it), in order.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct RegexpExtractAll {
    signature: Signature,
}

impl RegexpExtractAll {
    pub(super) fn new() -> RegexpExtractAll {
        use datafusion::logical_expr::TypeSignature::{Exact, String};
        RegexpExtractAll {
            signature: Signature::one_of(
                vec![
                    String(2),
                    Exact(vec![DataType::Utf8, DataType::Utf8, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for RegexpExtractAll {
    fn name(&self) -> &str {
        "regexp_extract_all"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Utf8, true))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let input = utf8(&args.args[0], rows)?;
        let input = input.as_string::<i32>();
        let mut patterns = Patterns::new(self.name(), &args.args[1], rows)?;
        let group = match args.args.get(2) {
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(g)))) => usize::try_from(*g)
                .map_err(|_| {
                    DataFusionError::Execution(format!("{}(): negative group {g}", self.name()))
                })?,
            Some(_) => return exec_err!("{}(): the group must be a constant", self.name()),
            None => 0,
        };
        let mut out = ListBuilder::new(StringBuilder::new());
        for i in 0..input.len() {
            let Some(regex) = patterns.at(i)?.filter(|_| !input.is_null(i)) else {
                out.append_null();
                continue;
            };
            if group >= regex.captures_len() {
                return exec_err!(
                    "{}(): pattern has {} groups, not {group}",
                    self.name(),
                    regex.captures_len() - 1
                );
            }
            if group == 0 {
                // Whole matches need no capture groups: the much faster search.
                for found in regex.find_iter(input.value(i)) {
                    out.values().append_value(found.as_str());
                }
            } else {
                for captures in regex.captures_iter(input.value(i)) {
                    out.values()
                        .append_option(captures.get(group).map(|m| m.as_str()));
                }
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

//! Compiling definitions into something that runs: JMESPath expressions and minijinja
//! templates, each checked once when the definitions load.

pub(crate) mod expression;
pub(crate) mod functions;
pub(crate) mod template;

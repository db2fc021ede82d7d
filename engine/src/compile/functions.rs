//! Placeholder runtime with the JMESPath built-ins only, until the extension library lands.

use std::sync::LazyLock;

pub(crate) struct Arity {
    pub(crate) min: usize,
    pub(crate) max: Option<usize>,
}

static RUNTIME: LazyLock<jmespath::Runtime> = LazyLock::new(|| {
    let mut runtime = jmespath::Runtime::new();
    runtime.register_builtin_functions();
    runtime
});

pub(crate) fn runtime() -> &'static jmespath::Runtime {
    &RUNTIME
}

pub(crate) fn arity(_name: &str) -> Option<Arity> {
    None
}

pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    std::iter::empty()
}

pub(crate) fn check(_ast: &jmespath::ast::Ast) -> Vec<(usize, String)> {
    Vec::new()
}

// Bundling shim (lib/handler-bundling.ts BUILTIN_SHIMS): `import ... from 'node:crypto'` in a bundled
// package resolves here, so the bundle loads node:crypto the way require() does, without the ESM
// namespace reflection that costs init time. getBuiltinModule needs no resolution and is not aliased.
module.exports = process.getBuiltinModule('node:crypto');

// Bundling shim (lib/handler-bundling.ts BUILTIN_SHIMS): `import ... from 'node:util'` in a bundled
// package resolves here, so the bundle loads node:util the way require() does, without the ESM
// namespace reflection that costs init time. getBuiltinModule needs no resolution and is not aliased.
module.exports = process.getBuiltinModule('node:util');

// Bundling shim (lib/handler-bundling.ts BUILTIN_SHIMS): `import ... from 'node:process'` in a bundled
// package resolves here, so the bundle loads node:process the way require() does, without the ESM
// namespace reflection that costs init time. getBuiltinModule needs no resolution and is not aliased.
module.exports = process.getBuiltinModule('node:process');

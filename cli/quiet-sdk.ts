// CLI: imported first by the entry, before any AWS SDK module loads: Lambda runs Node 22, the
// SDK's Node 20 deprecation notice is noise on an operator's terminal. (The installed
// @aws-sdk/core reads the first variable; older releases read the second.)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING ??= '1';

import 'aws-sdk-client-mock-vitest/extend';
// AWS SDK v3 warns about Node 20 on every client; Lambda runs Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

#!/usr/bin/env node
// A local S3-compatible server for the S3 client and source tests: s3rver
// (which accepts SigV4 requests without checking their signatures) behind a
// check that recomputes every request's SigV4 signature with the aws4
// package and answers a mismatch as S3 does (403 SignatureDoesNotMatch).
//
// Two s3rver 3.7.1 defects are worked around here: ListObjectsV2 with a
// delimiter finds common prefixes only for keys at most one level below the
// prefix, and lists in directory order rather than S3's byte order (the
// listing is replaced below); its continuation tokens use DES, which Node
// only has with --openssl-legacy-provider (the tests start node with it).
//
// usage: node --openssl-legacy-provider server.js DIRECTORY   (listens on a
// free port of 127.0.0.1 and prints "S3rver listening on 127.0.0.1:PORT").
// Key pair: S3RVER / S3RVER.
'use strict';

const http = require('http');
const path = require('path');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Object = require('s3rver/lib/models/object');
const { walk } = require('s3rver/lib/utils');
const aws4 = require('aws4');

// Every key of the bucket in UTF-8 byte order, then S3's prefix, delimiter,
// start-after and max-keys rules.
FilesystemStore.prototype.listObjects = async function listObjects(bucket, options) {
  const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
  const bucketPath = this.getBucketPath(bucket);
  const suffix = '._S3rver_object';
  const all = [];
  for (const file of walk(bucketPath)) {
    if (!file.endsWith(suffix)) continue;
    all.push(FilesystemStore.decodeKeyPath(path.posix.relative(bucketPath, file).slice(0, -suffix.length)));
  }
  all.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const commonPrefixes = new Set();
  const keys = [];
  let isTruncated = false;
  for (const key of all) {
    if (!key.startsWith(prefix) || Buffer.compare(Buffer.from(key), Buffer.from(startAfter)) <= 0) continue;
    const idx = delimiter ? key.slice(prefix.length).indexOf(delimiter) : -1;
    if (idx !== -1) {
      commonPrefixes.add(key.slice(0, prefix.length + idx + delimiter.length));
    } else if (keys.length < maxKeys) {
      keys.push(key);
    } else {
      isTruncated = true;
      break;
    }
  }
  const objects = [];
  for (const key of keys) {
    const metadata = await this.getMetadata(bucket, key).catch((err) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (metadata !== undefined) objects.push(new S3Object(bucket, key, null, metadata));
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
};

const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';

function errorXml(code, message) {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

// Empty when the request's Authorization header carries the signature aws4 computes for it.
function checkSignature(req) {
  const auth = req.headers.authorization;
  if (!auth) return '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'AuthorizationHeaderMalformed';
  const [, accessKey, , region, service, signedHeaders, signature] = m;
  if (accessKey !== ACCESS_KEY) return 'InvalidAccessKeyId';
  const headers = {};
  for (const name of signedHeaders.split(';')) headers[name] = req.headers[name] || '';
  const signed = aws4.sign({
    service, region, method: req.method, path: req.url, host: req.headers.host, headers,
  }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers.Authorization)[1];
  return expected === signature ? '' : 'SignatureDoesNotMatch';
}

async function main() {
  const directory = process.argv[2];
  if (!directory) {
    console.error('usage: node server.js DIRECTORY');
    process.exit(2);
  }
  const s3rver = new S3rver({ directory, silent: !process.env.VIGIL_S3_DEBUG });
  await s3rver.configureBuckets();
  const handle = s3rver.callback();
  const server = http.createServer((req, res) => {
    const problem = checkSignature(req);
    if (problem) {
      const message = problem === 'SignatureDoesNotMatch'
        ? 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'
        : 'The request could not be authenticated.';
      res.writeHead(problem === 'AuthorizationHeaderMalformed' ? 400 : 403, { 'Content-Type': 'application/xml' });
      res.end(errorXml(problem, message));
      req.resume();
      return;
    }
    handle(req, res);
  });
  server.listen(0, '127.0.0.1', () => {
    console.log('S3rver listening on 127.0.0.1:%d', server.address().port);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

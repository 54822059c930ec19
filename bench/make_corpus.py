#!/usr/bin/env python3
"""Builds a large CloudTrail corpus for benchmarks from the Stratus Red Team sample.

    python3 bench/make_corpus.py --out DIR --events 1000000 --seed 1 [--plain]

The corpus is laid out as CloudTrail delivers it to S3:

    DIR/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16 chars>.json.gz

each file a {"Records":[...]} object of 1000-5000 records in time order, spread over
--days days. About 99% of records are routine, error-free reads: the read-only,
error-free Stratus records (Describe*/List*/Get*) and synthesised common reads
(EC2 Describe*, S3 GetObject data events, KMS Decrypt, STS GetCallerIdentity, ...).
The rest are the other Stratus records: writes, attacks and errors. Every record
gets a fresh eventID and requestID, a time, a source address and a principal from a
pool of a few hundred IAM users and roles spread over several accounts; the
principal's ARN, id, name, access key and account are rewritten consistently
wherever the template mentions them.

The output depends only on the arguments (seed included). Standard library only.
"""

import argparse
import calendar
import gzip
import json
import os
import random
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_STRATUS = os.path.join(REPO_ROOT, '..', 'shared', 'data', 'cloudtrail', 'stratus-red-team', 'docs',
                               'detonation-logs')

READ_PREFIXES = ('Describe', 'List', 'Get', 'Head', 'Lookup')
REGIONS = ['us-east-1'] * 5 + ['us-west-2'] * 2 + ['eu-west-1'] * 2 + ['ap-southeast-2']
USER_AGENTS = [
    'aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023 prompt/off',
    'aws-cli/2.13.2 Python/3.11.4 Darwin/22.6.0 exe/x86_64 prompt/off',
    'Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#5.10.210 md/arch#x86_64 lang/python#3.11.8 Botocore/1.34.60',
    'aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64',
    'aws-sdk-java/2.25.6 Linux/5.10.210 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc.',
    'APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
]

# Synthesised routine reads, written against a placeholder principal, account and region
# that the template compiler rewrites like any Stratus record.
T_ACCOUNT = '000000000000'
T_ARN = 'arn:aws:iam::000000000000:user/template-user'
T_REGION = 'us-east-1'


def _synth(source, name, request=None, response=None, data=False, extra=None):
    rec = {
        'eventVersion': '1.10' if data else '1.09',
        'userIdentity': {'type': 'IAMUser', 'arn': T_ARN, 'accountId': T_ACCOUNT},
        'eventTime': '2025-01-01T00:00:00Z',
        'eventSource': source,
        'eventName': name,
        'awsRegion': T_REGION,
        'sourceIPAddress': '192.0.2.1',
        'userAgent': 'template',
        'requestParameters': request,
        'responseElements': response,
        'requestID': 'template-request',
        'eventID': 'template-event',
        'readOnly': True,
        'eventType': 'AwsApiCall',
        'managementEvent': not data,
        'recipientAccountId': T_ACCOUNT,
        'eventCategory': 'Data' if data else 'Management',
    }
    if extra:
        rec.update(extra)
    host = source.split('.')[0] + '.' + T_REGION + '.amazonaws.com'
    rec['tlsDetails'] = {'tlsVersion': 'TLSv1.3', 'cipherSuite': 'TLS_AES_128_GCM_SHA256',
                         'clientProvidedHostHeader': host}
    return rec


def _s3_object(name):
    bucket = 'corp-data-000000000000'
    key = 'objects/@@RND@@.json'
    return _synth('s3.amazonaws.com', name, request={'bucketName': bucket, 'Host': bucket + '.s3.amazonaws.com', 'key': key},
                  data=True, extra={
                      'additionalEventData': {'SignatureVersion': 'SigV4', 'CipherSuite': 'TLS_AES_128_GCM_SHA256',
                                              'bytesTransferredIn': 0, 'AuthenticationMethod': 'AuthHeader',
                                              'bytesTransferredOut': 18342},
                      'resources': [{'type': 'AWS::S3::Object', 'ARN': 'arn:aws:s3:::%s/%s' % (bucket, key)},
                                    {'accountId': T_ACCOUNT, 'type': 'AWS::S3::Bucket', 'ARN': 'arn:aws:s3:::' + bucket}]})


SYNTHETIC_READS = [
    _synth('ec2.amazonaws.com', 'DescribeInstances', {'instancesSet': {}, 'filterSet': {}}),
    _synth('ec2.amazonaws.com', 'DescribeSecurityGroups', {'securityGroupSet': {}, 'securityGroupIdSet': {}, 'filterSet': {}}),
    _synth('ec2.amazonaws.com', 'DescribeVpcs', {'vpcSet': {}, 'filterSet': {}}),
    _synth('ec2.amazonaws.com', 'DescribeSubnets', {'subnetSet': {}, 'filterSet': {}}),
    _synth('ec2.amazonaws.com', 'DescribeVolumes', {'volumeSet': {}, 'filterSet': {}}),
    _synth('s3.amazonaws.com', 'ListBuckets', {'Host': 's3.amazonaws.com'}),
    _s3_object('GetObject'), _s3_object('GetObject'), _s3_object('GetObject'), _s3_object('HeadObject'),
    _synth('iam.amazonaws.com', 'ListUsers'),
    _synth('iam.amazonaws.com', 'ListRoles'),
    _synth('iam.amazonaws.com', 'GetUser', {'userName': 'template-user'}),
    _synth('sts.amazonaws.com', 'GetCallerIdentity'),
    _synth('kms.amazonaws.com', 'Decrypt', {'encryptionAlgorithm': 'SYMMETRIC_DEFAULT'}, extra={
        'resources': [{'accountId': T_ACCOUNT, 'type': 'AWS::KMS::Key',
                       'ARN': 'arn:aws:kms:us-east-1:000000000000:key/0f1e2d3c-4b5a-4968-8776-655443322110'}]}),
    _synth('kms.amazonaws.com', 'GenerateDataKey', {'keyId': 'alias/app', 'keySpec': 'AES_256'}),
    _synth('logs.amazonaws.com', 'DescribeLogGroups', {'limit': 50}),
    _synth('monitoring.amazonaws.com', 'DescribeAlarms', {'maxRecords': 100}),
    _synth('lambda.amazonaws.com', 'ListFunctions20150331'),
    _synth('ssm.amazonaws.com', 'GetParameter', {'name': '/app/config/endpoint', 'withDecryption': False}),
    _synth('secretsmanager.amazonaws.com', 'DescribeSecret', {'secretId': 'app/db'}),
    _synth('dynamodb.amazonaws.com', 'DescribeTable', {'tableName': 'sessions'}),
    _synth('cloudtrail.amazonaws.com', 'DescribeTrails', {'trailNameList': [], 'includeShadowTrails': True}),
    _synth('ecr.amazonaws.com', 'GetAuthorizationToken'),
]


def is_routine(rec):
    return ('errorCode' not in rec and rec.get('readOnly') is True
            and rec.get('eventName', '').startswith(READ_PREFIXES))


def compile_template(rec):
    """Turns a record into a %-format string with named placeholders."""
    rec = json.loads(json.dumps(rec))
    ui = rec.get('userIdentity') or {}
    arn = ui.get('arn') or ''
    account = rec.get('recipientAccountId') or ui.get('accountId') or ''
    region = rec.get('awsRegion') or ''
    rec['userIdentity'] = '@@UI@@'
    rec['eventTime'] = '@@TIME@@'
    rec['eventID'] = '@@EID@@'
    if 'requestID' in rec:
        rec['requestID'] = '@@RID@@'
    ip = rec.get('sourceIPAddress', '')
    if ip and 'amazonaws.com' not in ip and not ip.startswith('AWS'):
        rec['sourceIPAddress'] = '@@IP@@'
    if ui.get('type') != 'AWSService':
        rec['userAgent'] = '@@UA@@'
    text = json.dumps(rec, separators=(',', ':')).replace('%', '%%')
    text = text.replace('"@@UI@@"', '%(ui)s')
    for token, name in (('@@TIME@@', 't'), ('@@EID@@', 'eid'), ('@@RID@@', 'rid'), ('@@IP@@', 'ip'),
                        ('@@UA@@', 'ua'), ('@@RND@@', 'rnd')):
        text = text.replace(token, '%(' + name + ')s')
    if arn:
        text = text.replace(arn, '%(arn)s')
    if account:
        text = text.replace(account, '%(acct)s')
    if region:
        text = text.replace(region, '%(region)s')
    return text


class Principal:
    __slots__ = ('account', 'arn', 'ui_by_day', 'kind', 'name', 'pid', 'key', 'role_id', 'ua', 'ips')

    def __init__(self, rng, account, index):
        self.account = account
        self.kind = 'IAMUser' if rng.random() < 0.4 else 'AssumedRole'
        chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
        if self.kind == 'IAMUser':
            self.name = '%s.%s%d' % (rng.choice(['svc', 'dev', 'ops', 'ci', 'analyst', 'admin']),
                                     rng.choice(['alpha', 'bravo', 'delta', 'echo', 'kilo', 'lima', 'tango']), index)
            self.pid = 'AIDA' + ''.join(rng.choice(chars) for _ in range(17))
            self.arn = 'arn:aws:iam::%s:user/%s' % (account, self.name)
            self.key = 'AKIA' + ''.join(rng.choice(chars) for _ in range(16))
        else:
            self.name = '%s-%d' % (rng.choice(['app-worker', 'etl', 'deploy', 'lambda-exec', 'ecs-task', 'readonly',
                                               'AWSReservedSSO_PowerUser']), index)
            self.role_id = 'AROA' + ''.join(rng.choice(chars) for _ in range(17))
            session = rng.choice(['i-0%015x' % rng.getrandbits(60), 'session-%d' % rng.randrange(10000),
                                  'user%d@example.com' % index])
            self.pid = self.role_id + ':' + session
            self.arn = 'arn:aws:sts::%s:assumed-role/%s/%s' % (account, self.name, session)
            self.key = 'ASIA' + ''.join(rng.choice(chars) for _ in range(16))
        self.ua = rng.choice(USER_AGENTS)
        self.ips = ['%d.%d.%d.%d' % (rng.choice([3, 18, 34, 52, 54, 198, 203]), rng.randrange(256), rng.randrange(256),
                                     rng.randrange(1, 255)) for _ in range(2)]
        self.ui_by_day = {}

    def identity(self, day):
        ui = self.ui_by_day.get(day)
        if ui is None:
            d = {'type': self.kind, 'principalId': self.pid, 'arn': self.arn, 'accountId': self.account,
                 'accessKeyId': self.key}
            if self.kind == 'IAMUser':
                d['userName'] = self.name
            else:
                d['sessionContext'] = {
                    'sessionIssuer': {'type': 'Role', 'principalId': self.role_id,
                                      'arn': 'arn:aws:iam::%s:role/%s' % (self.account, self.name),
                                      'accountId': self.account, 'userName': self.name},
                    'attributes': {'creationDate': day + 'T00:00:00Z', 'mfaAuthenticated': 'false'}}
            ui = json.dumps(d, separators=(',', ':'))
            self.ui_by_day[day] = ui
        return ui


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True, help='output directory')
    ap.add_argument('--events', type=int, default=1_000_000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--stratus', default=DEFAULT_STRATUS, help='Stratus Red Team detonation-logs directory')
    ap.add_argument('--plain', action='store_true', help='write uncompressed .json files')
    ap.add_argument('--days', type=int, default=7)
    ap.add_argument('--start', default='2025-03-01', help='first day (UTC), YYYY-MM-DD')
    ap.add_argument('--principals', type=int, default=300)
    ap.add_argument('--accounts', type=int, default=6)
    ap.add_argument('--other-percent', type=float, default=1.0, help='share of writes and errors')
    ap.add_argument('--level', type=int, default=5, help='gzip level (1-9)')
    args = ap.parse_args()
    if args.events < 0 or args.days < 1 or args.principals < 1 or args.accounts < 1:
        ap.error('--events, --days, --principals and --accounts must be positive')

    started = time.time()
    rng = random.Random(args.seed)

    names = sorted(n for n in os.listdir(args.stratus) if n.endswith('.json'))
    if not names:
        sys.exit('make_corpus: no .json files in %s' % args.stratus)
    stratus_routine, other, per_name = [], [], {}
    for n in names:
        with open(os.path.join(args.stratus, n)) as f:
            for rec in json.load(f):
                if is_routine(rec):
                    key = (rec.get('eventSource'), rec.get('eventName'))
                    per_name[key] = per_name.get(key, 0) + 1
                    if per_name[key] <= 3:  # keep the mix varied
                        stratus_routine.append(compile_template(rec))
                else:
                    other.append(compile_template(rec))
    synthetic = [compile_template(r) for r in SYNTHETIC_READS]
    # Routine reads: a third from the Stratus sample, the rest synthesised.
    routine = synthetic * 2 * max(1, len(stratus_routine) // len(synthetic)) + stratus_routine

    accounts = ['%012d' % rng.randrange(10 ** 11, 10 ** 12) for _ in range(args.accounts)]
    principals = {a: [] for a in accounts}
    for i in range(args.principals):
        a = accounts[i % len(accounts)]
        principals[a].append(Principal(rng, a, i))

    start_s = calendar.timegm(time.strptime(args.start, '%Y-%m-%d'))
    span = args.days * 86400
    day_strs = [time.strftime('%Y-%m-%d', time.gmtime(start_s + d * 86400)) for d in range(args.days + 1)]

    sizes = []
    remaining = args.events
    while remaining > 0:
        n = min(remaining, rng.randint(1000, 5000))
        sizes.append(n)
        remaining -= n
    nfiles = len(sizes)
    window = span / max(nfiles, 1)
    other_p = args.other_percent / 100.0
    alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
    getrandbits, rand, choice = rng.getrandbits, rng.random, rng.choice
    total_bytes = 0
    written = 0

    for fi, n in enumerate(sizes):
        account = choice(accounts)
        region = choice(REGIONS)
        pool = principals[account] or principals[accounts[0]]
        t0 = start_s + int(fi * window)
        t1 = max(t0 + 1, start_s + int((fi + 1) * window))
        times = sorted(rng.randrange(t0, t1) for _ in range(n))
        parts = []
        for t in times:
            p = choice(pool)
            tpl = choice(other) if (other and rand() < other_p) else choice(routine)
            rel = t - start_s
            day = day_strs[rel // 86400]
            sod = rel % 86400
            h = '%032x' % getrandbits(128)
            r = '%032x' % getrandbits(128)
            parts.append(tpl % {
                'ui': p.identity(day),
                't': '%sT%02d:%02d:%02dZ' % (day, sod // 3600, sod // 60 % 60, sod % 60),
                'eid': '%s-%s-4%s-%s-%s' % (h[:8], h[8:12], h[13:16], '89ab'[int(h[16], 16) & 3] + h[17:20], h[20:]),
                'rid': '%s-%s-4%s-a%s-%s' % (r[:8], r[8:12], r[13:16], r[17:20], r[20:]),
                'ip': p.ips[0] if rand() < 0.8 else p.ips[1],
                'ua': p.ua,
                'arn': p.arn,
                'acct': account,
                'region': region,
                'rnd': h[:20],
            })
        body = ('{"Records":[' + ','.join(parts) + ']}').encode()
        end = time.gmtime(t1)
        path = os.path.join(args.out, 'AWSLogs', account, 'CloudTrail', region, time.strftime('%Y/%m/%d', end))
        fname = '%s_CloudTrail_%s_%s_%s.json' % (account, region, time.strftime('%Y%m%dT%H%MZ', end),
                                                 ''.join(choice(alnum) for _ in range(16)))
        if args.plain:
            data = body
        else:
            data = gzip.compress(body, compresslevel=args.level, mtime=0)
            fname += '.gz'
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, fname), 'wb') as f:
            f.write(data)
        total_bytes += len(data)
        written += n

    print('make_corpus: %d files, %d events, %d bytes%s, %d routine and %d other templates, %.1fs -> %s' % (
        nfiles, written, total_bytes, '' if args.plain else ' (gzip)', len(routine), len(other),
        time.time() - started, args.out))


if __name__ == '__main__':
    main()

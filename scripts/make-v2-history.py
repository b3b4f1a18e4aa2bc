#!/usr/bin/env python3
# Writes v2.sqlite in the current folder: a schema-2 campaign history of 50 runs of 10,000
# tenants, for timing the migration to the current schema (BENCHMARKS.md).
import hashlib
import os
import re
import sqlite3

src=open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src', 'history', 'schema.rs')).read()
v1=re.search(r'pub const SCHEMA_V1: &str = "(.*?)";', src, re.S).group(1)
v2=re.search(r'pub const MIGRATION_V2: &str = "(.*?)";', src, re.S).group(1)
for f in ['v2.sqlite','v2.sqlite-wal','v2.sqlite-shm']:
    if os.path.exists(f): os.remove(f)
c=sqlite3.connect('v2.sqlite')
c.executescript(v1); c.executescript(v2); c.execute('PRAGMA user_version=2'); c.execute('PRAGMA journal_mode=WAL')
tid=0
for run in range(1,51):
    c.execute("INSERT INTO run VALUES (?, '2026-06-01T00:00:00Z', NULL, NULL, '{}', 'inv.csv', 'mtls-audit', '0.1.0', 1, '2026-06-01T00:00:00Z', '2026-06-01T00:00:00Z', 0)",(run,))
    ts=[];fs=[];cs=[]
    for i in range(10000):
        tid+=1
        ts.append((tid,run,i+2,f'T{i}','neo','production',f'owner {i%200}','','AT_RISK','not_ready','evidence','rejected',None))
        fs.append((tid,'CERT_EXPIRED','ias_admin_cert','FAILING'))
        for tg in ('ias_admin_cert','ips_inbound_cert'):
            h=hashlib.sha256(f'{i}{tg}'.encode()).hexdigest()
            cs.append((tid,tg,h,h[:40],'2026-10-31T22:29:24Z',None))
    c.executemany('INSERT INTO tenant VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)',ts)
    c.executemany('INSERT INTO finding VALUES (?,?,?,?)',fs)
    c.executemany('INSERT INTO certificate VALUES (?,?,?,?,?,?)',cs)
    c.execute("INSERT INTO run_group VALUES (?, 'all', 'all', 10000, 0, 10000, 0, 0,0,0,10000,0)",(run,))
    c.commit()
c.execute('PRAGMA wal_checkpoint(TRUNCATE)')
c.close()

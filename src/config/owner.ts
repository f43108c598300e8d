// chown-socket = user[:group] → numeric ids. Names are looked up with getent (so NSS users and
// groups count, not only /etc/passwd); numbers are taken as they are. A group left out is kept (-1).
import { execFileSync } from 'node:child_process';

export interface Owner { uid: number; gid: number }

const NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/;

function lookup(db: 'passwd' | 'group', name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  let line: string;
  try {
    line = execFileSync('getent', [db, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    throw new Error(`no ${db === 'passwd' ? 'user' : 'group'} named '${name}' on this machine (getent ${db} ${name} finds nothing)`);
  }
  return Number(line.split(':')[2]);
}

/** Resolves 'www-data', 'www-data:www-data', ':www-data', '1000:1000'; throws with the reason. */
export function resolveOwner(spec: string): Owner {
  const [user = '', group, extra] = spec.split(':');
  if (extra !== undefined || (user === '' && !group) || [user, group ?? ''].some((n) => n !== '' && !NAME.test(n))) {
    throw new Error('expected user[:group] or :group (names or numeric ids), e.g. www-data or www-data:www-data');
  }
  return { uid: user === '' ? -1 : lookup('passwd', user), gid: group ? lookup('group', group) : -1 };
}

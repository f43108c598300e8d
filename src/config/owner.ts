// chown-socket = user[:group] → numeric ids. Names are looked up with getent (so NSS users and
// groups count, not only /etc/passwd); numbers are taken as they are. A group left out is kept (-1).
import { execFileSync } from 'node:child_process';
import { SpindleError } from '../errors.js';

export interface Owner { uid: number; gid: number }

const NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/;

function lookup(db: 'passwd' | 'group', name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  let line: string;
  try {
    line = execFileSync('getent', [db, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    const what = db === 'passwd' ? 'user' : 'group';
    throw new SpindleError('CONFIG_INVALID_VALUE', `no ${what} named '${name}' on this machine (getent ${db} ${name} finds nothing); create it or give an existing ${what} or a numeric id`);
  }
  return Number(line.split(':')[2]);
}

/** Resolves 'www-data', 'www-data:www-data', ':www-data', '1000:1000'; throws CONFIG_INVALID_VALUE with the reason. */
export function resolveOwner(spec: string): Owner {
  const [user = '', group, extra] = spec.split(':');
  if (extra !== undefined || (user === '' && !group) || [user, group ?? ''].some((n) => n !== '' && !NAME.test(n))) {
    throw new SpindleError('CONFIG_INVALID_VALUE', `'${spec}' is not user[:group] or :group (names or numeric ids); write e.g. www-data, www-data:www-data or :1000`);
  }
  return { uid: user === '' ? -1 : lookup('passwd', user), gid: group ? lookup('group', group) : -1 };
}

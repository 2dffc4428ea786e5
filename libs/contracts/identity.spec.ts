import { hasRole } from './identity';

describe('hasRole', () => {
  it('passes a caller holding one of the roles, and admin always', () => {
    expect(hasRole({ id: 'rita', roles: ['reviewer'] }, 'reviewer')).toBe(true);
    expect(hasRole({ id: 'rita', roles: ['reviewer'] }, 'data-scientist', 'reviewer')).toBe(true);
    expect(hasRole({ id: 'root', roles: ['admin'] }, 'reviewer')).toBe(true);
    expect(hasRole({ id: 'alice', roles: ['data-scientist'] }, 'reviewer')).toBe(false);
  });

  it('fails safe: no roles named means admin only; no caller or a malformed one never passes', () => {
    expect(hasRole({ id: 'alice', roles: ['data-scientist'] })).toBe(false);
    expect(hasRole({ id: 'root', roles: ['admin'] })).toBe(true);
    expect(hasRole(undefined, 'reviewer')).toBe(false);
    expect(hasRole(null, 'reviewer')).toBe(false);
    expect(hasRole({ id: 'x' } as never, 'reviewer')).toBe(false);
  });
});

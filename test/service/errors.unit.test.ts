import { expect } from 'chai';
import { AppError, invalid, notFound, unavailable } from '../../service/errors.js';

describe('AppError', () => {
  it('carries a code and a field, and no HTTP status', () => {
    const e = new AppError('username_taken', 'username: alice is already taken', { field: 'username' });
    expect(e).to.include({ code: 'username_taken', field: 'username', message: 'username: alice is already taken' });
    expect(e).to.not.have.property('status');
  });

  it('keeps the cause', () => {
    const cause = new Error('low level');
    expect(new AppError('database_unavailable', 'x', { cause }).cause).to.equal(cause);
    expect(new AppError('not_found', 'x')).to.not.have.property('cause');
  });

  it('has helpers for validation, missing resources and unavailable dependencies', () => {
    expect(invalid('caption', 'is too long')).to.include({ code: 'validation_failed', field: 'caption', message: 'caption: is too long' });
    expect(notFound('photo 3')).to.include({ code: 'not_found', message: 'photo 3 not found', field: undefined });
    const cause = new Error('ECONNREFUSED');
    const u = unavailable('database_unavailable', 'try again', cause);
    expect(u).to.include({ code: 'database_unavailable', message: 'try again' });
    expect(u.cause).to.equal(cause);
    expect(u).to.be.instanceOf(Error);
  });
});

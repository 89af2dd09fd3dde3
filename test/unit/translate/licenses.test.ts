// IM2's license string (im2/pkg/controller/license_database.go LicenseBuildParameter) and the
// site's license table, whose keys stay out of the start-up log.
import { describeConfig } from '../../../src/config.js';
import { licenseString } from '../../../src/translate/licenses.js';
import { unitConfig } from '../../support/config.js';

describe('license string', () => {
  it.each([
    [{ address: 'lic.example.org', port: 27000, license: 'KEY' }, 'lic.example.org:27000/KEY'],
    [{ address: 'lic.example.org', port: 27000 }, 'lic.example.org:27000'],
    [{ address: 'lic.example.org' }, 'lic.example.org:null'],
    [{ port: 1055, license: 'K' }, 'null:1055/K'],
    [{}, 'null:null'],
  ])('%j is %s', (server, expected) => {
    expect(licenseString(server)).toBe(expected);
  });

  it('masks license keys when the configuration is logged', () => {
    const config = unitConfig({
      licenses: [
        { product: 'p', address: 'a', port: 1, license: 'SECRET-KEY' },
        { product: 'q', address: 'b' },
      ],
    });
    const logged = JSON.stringify(describeConfig(config));
    expect(logged).not.toContain('SECRET-KEY');
    expect(logged).toContain('"license":"[set]"');
    expect(config.licenses[0]!.license).toBe('SECRET-KEY');
  });
});

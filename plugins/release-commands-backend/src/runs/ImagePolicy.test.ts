import { ConfigReader } from '@backstage/config';
import { Entity } from '@backstage/catalog-model';
import { RELEASE_COMMANDS_ALLOWED_IMAGES_ANNOTATION } from '@release-commands/backstage-plugin-release-commands-common';
import { ImagePolicy, parseImageReference } from './ImagePolicy';

describe('parseImageReference', () => {
  it.each([
    [
      'busybox',
      'docker.io',
      'docker.io/library/busybox',
      'docker.io/library/busybox:latest',
    ],
    [
      'acme/shop:1',
      'docker.io',
      'docker.io/acme/shop',
      'docker.io/acme/shop:1',
    ],
    [
      'index.docker.io/acme/shop',
      'docker.io',
      'docker.io/acme/shop',
      'docker.io/acme/shop:latest',
    ],
    [
      'GHCR.io/acme/shop:1.4.2',
      'ghcr.io',
      'ghcr.io/acme/shop',
      'ghcr.io/acme/shop:1.4.2',
    ],
    [
      'localhost:5000/shop',
      'localhost:5000',
      'localhost:5000/shop',
      'localhost:5000/shop:latest',
    ],
    [
      `ghcr.io/acme/shop@sha256:${'a'.repeat(64)}`,
      'ghcr.io',
      'ghcr.io/acme/shop',
      `ghcr.io/acme/shop@sha256:${'a'.repeat(64)}`,
    ],
  ])('reads %s', (image, registry, repository, reference) => {
    expect(parseImageReference(image)).toEqual({
      registry,
      repository,
      reference,
    });
  });
});

describe('ImagePolicy', () => {
  const policy = (images: object) =>
    ImagePolicy.fromConfig(new ConfigReader({ releaseCommands: { images } }));
  const allows = (p: ImagePolicy, image: string, environment = 'default') => {
    try {
      p.check(image, environment);
      return true;
    } catch (error) {
      expect((error as Error).name).toBe('NotAllowedError');
      return false;
    }
  };

  it('allows no image when the config lists none, and says where to list them', () => {
    const none = ImagePolicy.fromConfig(new ConfigReader({}));
    expect(() => none.check('busybox', 'default')).toThrow(
      'Image docker.io/library/busybox:latest is not allowed: releaseCommands.images.allow lists no image source, so no image may run (see the README on allowing images)',
    );
  });

  it('allows by registry, repository prefix, repository and exact reference', () => {
    const p = policy({
      allow: [
        { registry: 'ghcr.io' },
        { repositoryPrefix: 'registry.example.com/team/' },
        { repository: 'busybox' },
        { image: 'quay.io/acme/tool:2' },
      ],
    });
    expect(
      [
        'ghcr.io/anyone/anything:1',
        'registry.example.com/team/shop:1',
        'registry.example.com/team/sub/shop',
        'registry.example.com/teamster/shop:1',
        'registry.example.com/other/shop:1',
        'busybox:1.36',
        'docker.io/library/busybox',
        'busybox-evil',
        'quay.io/acme/tool:2',
        'quay.io/acme/tool:3',
        'evil.io/ghcr.io/x',
      ].map(image => [image, allows(p, image)]),
    ).toEqual([
      ['ghcr.io/anyone/anything:1', true],
      ['registry.example.com/team/shop:1', true],
      ['registry.example.com/team/sub/shop', true],
      ['registry.example.com/teamster/shop:1', false],
      ['registry.example.com/other/shop:1', false],
      ['busybox:1.36', true],
      ['docker.io/library/busybox', true],
      ['busybox-evil', false],
      ['quay.io/acme/tool:2', true],
      ['quay.io/acme/tool:3', false],
      ['evil.io/ghcr.io/x', false],
    ]);
  });

  it("uses an environment's own list instead, and names it when it refuses", () => {
    const p = policy({
      allow: [{ registry: 'ghcr.io' }],
      environments: {
        production: { allow: [{ repository: 'ghcr.io/acme/shop' }] },
      },
    });
    expect(allows(p, 'ghcr.io/acme/debug:1', 'staging')).toBe(true);
    expect(allows(p, 'ghcr.io/acme/shop:1', 'production')).toBe(true);
    expect(() => p.check('ghcr.io/acme/debug:1', 'production')).toThrow(
      'Image ghcr.io/acme/debug:1 is not allowed in environment production: releaseCommands.images.environments.production.allow allows only repository ghcr.io/acme/shop',
    );
  });

  describe('narrowed by the release-commands/allowed-images annotation', () => {
    const p = policy({
      allow: [{ registry: 'ghcr.io' }, { repositoryPrefix: 'quay.io/acme/' }],
    });
    const shop = (annotation?: string): Entity => ({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name: 'shop',
        namespace: 'default',
        ...(annotation === undefined
          ? {}
          : {
              annotations: {
                [RELEASE_COMMANDS_ALLOWED_IMAGES_ANNOTATION]: annotation,
              },
            }),
      },
    });
    const allowsFor = (entity: Entity, image: string) => {
      try {
        p.check(image, 'default', entity);
        return true;
      } catch (error) {
        expect((error as Error).name).toBe('NotAllowedError');
        return false;
      }
    };

    it('allows only what both the config and the annotation allow', () => {
      const narrowed = shop(
        'ghcr.io/acme/shop, ghcr.io/acme/tools/\n quay.io/acme/migrate:2 docker.io/',
      );
      expect(
        [
          'ghcr.io/acme/shop:1.4.2',
          'ghcr.io/acme/tools/psql:16',
          'ghcr.io/acme/other:1',
          'quay.io/acme/migrate:2',
          'quay.io/acme/migrate:3',
          // The annotation allows all of Docker Hub; the config none of it.
          'busybox:1.36',
        ].map(image => [image, allowsFor(narrowed, image)]),
      ).toEqual([
        ['ghcr.io/acme/shop:1.4.2', true],
        ['ghcr.io/acme/tools/psql:16', true],
        ['ghcr.io/acme/other:1', false],
        ['quay.io/acme/migrate:2', true],
        ['quay.io/acme/migrate:3', false],
        ['busybox:1.36', false],
      ]);
      // Without the annotation, the config alone decides.
      expect(allowsFor(shop(), 'ghcr.io/acme/other:1')).toBe(true);
    });

    it('names the annotation and the entity when it refuses', () => {
      expect(() =>
        p.check('ghcr.io/acme/other:1', 'default', shop('ghcr.io/acme/shop')),
      ).toThrow(
        'Image ghcr.io/acme/other:1 is not allowed for component:default/shop: its release-commands/allowed-images annotation allows only repository ghcr.io/acme/shop',
      );
      expect(() =>
        p.check('ghcr.io/acme/shop:1', 'default', shop(' ')),
      ).toThrow(
        'Image ghcr.io/acme/shop:1 is not allowed for component:default/shop: its release-commands/allowed-images annotation lists no image source, so no image may run for it',
      );
    });

    it('refuses every image when an entry cannot be read, naming it', () => {
      expect(() =>
        p.check(
          'ghcr.io/acme/shop:1',
          'default',
          shop('ghcr.io/acme/shop, ghcr.io/Acme/Shop'),
        ),
      ).toThrow(
        'No image may run for component:default/shop: its release-commands/allowed-images annotation has "ghcr.io/Acme/Shop", which is not a repository without tag or digest',
      );
    });
  });

  it.each([
    [
      { allow: [{}] },
      'releaseCommands.images.allow[0] must have exactly one of registry, repositoryPrefix, repository, image, got none',
    ],
    [
      { allow: [{ registry: 'ghcr.io', image: 'ghcr.io/a/b:1' }] },
      'releaseCommands.images.allow[0] must have exactly one of registry, repositoryPrefix, repository, image, got registry and image',
    ],
    [
      { allow: [{ registry: 'ghcr.io/acme' }] },
      'releaseCommands.images.allow[0].registry must be a registry host',
    ],
    [
      { allow: [{ repositoryPrefix: 'ghcr.io/acme' }] },
      'releaseCommands.images.allow[0].repositoryPrefix must be a repository path ending with /',
    ],
    [
      { allow: [{ repository: 'ghcr.io/acme/shop:1' }] },
      'releaseCommands.images.allow[0].repository must be a repository without tag or digest',
    ],
    [
      { allow: [{ image: 'Not An Image' }] },
      'releaseCommands.images.allow[0].image must be an image reference',
    ],
    [
      { environments: { production: { allow: [{ registry: 'a b' }] } } },
      'releaseCommands.images.environments.production.allow[0].registry must be a registry host',
    ],
  ])('refuses %j, naming the key', (images, message) => {
    expect(() => policy(images)).toThrow(message);
  });
});

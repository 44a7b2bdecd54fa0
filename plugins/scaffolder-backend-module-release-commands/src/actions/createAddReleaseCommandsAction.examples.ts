import { TemplateExample } from '@backstage/plugin-scaffolder-node';

export const addReleaseCommandsExamples: TemplateExample[] = [
  {
    description: "Preset a new Django service's migrations (source framework)",
    example: `steps:
  - id: release-commands
    name: Preset release commands
    action: release-commands:add
    input:
      entityRef: component:default/\${{ parameters.name }}
      preset: django
`,
  },
  {
    description:
      'A preset, then commands of the template itself (source template), one with its own timeout',
    example: `steps:
  - id: release-commands
    name: Preset release commands
    action: release-commands:add
    input:
      entityRef: component:default/\${{ parameters.name }}
      preset: django-cms
      commands:
        - label: Check deployment settings
          command: python manage.py check --deploy
        - label: Set media headers
          command: python manage.py set_s3_headers && echo done
          timeoutSeconds: 3600
`,
  },
  {
    description:
      'Only your own commands, for a framework without a preset; the resulting list is an output',
    example: `steps:
  - id: release-commands
    name: Add release commands
    action: release-commands:add
    input:
      entityRef: \${{ parameters.entity }}
      commands:
        - label: Flush the CDN cache
          command: ./bin/flush-cache --all
  - id: log
    action: debug:log
    input:
      message: \${{ steps['release-commands'].output.commands | length }} release commands
`,
  },
  {
    description:
      'After registering the new component: the step waits for the catalog to ingest it (here up to 10 minutes), as release commands are kept only for entities the catalog knows',
    example: `steps:
  - id: publish
    name: Publish
    action: publish:github
    input:
      repoUrl: \${{ parameters.repoUrl }}
  - id: register
    name: Register
    action: catalog:register
    input:
      repoContentsUrl: \${{ steps.publish.output.repoContentsUrl }}
      catalogInfoPath: /catalog-info.yaml
  - id: release-commands
    name: Preset release commands
    action: release-commands:add
    input:
      entityRef: component:default/\${{ parameters.name }}
      preset: django
      waitForEntitySeconds: 600
`,
  },
];

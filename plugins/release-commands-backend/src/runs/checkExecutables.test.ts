import { executableOf } from './checkExecutables';

describe('executableOf', () => {
  it.each([
    ['./manage.sh migrate', './manage.sh'],
    ['  python3 -m pip check', 'python3'],
    ['DJANGO_SETTINGS=prod FOO=1 ./manage.py migrate', './manage.py'],
    ['bin/rails db:migrate && echo done', 'bin/rails'],
    ['migrate;echo done', 'migrate'],
    ['"./my tool" --flag', null],
    ["'./manage.sh' migrate", './manage.sh'],
    ['["python", "manage.py", "migrate"]', 'python'],
    ['["/app/migrate"]', '/app/migrate'],
    ['[ -f x ] && ./manage.sh migrate', null],
    ['$TOOL migrate', null],
    ['$(which python) manage.py', null],
    ['if true; then echo; fi', null],
    ['(cd app && ./manage.sh migrate)', null],
    ['FOO=1', null],
    ['', null],
  ])('finds what %j starts: %j', (command, executable) => {
    expect(executableOf(command)).toBe(executable);
  });
});

"""--fw-cfg's refusals: caught while parsing the command line, before KVM is
opened, each with one error line and exit status 1."""
import pytest

import vmtest as vt


@pytest.mark.parametrize("args,says", [
    (["--fw-cfg", "name=etc/mine,string=x"], "opt/"),
    (["--fw-cfg", "name=opt/a,string=1", "--fw-cfg", "opt/a,string=2"], "opt/a given twice"),
    (["--fw-cfg", "name=opt/a"], "exactly one of file= and string="),
    (["--fw-cfg", "name=opt/" + "x" * 60 + ",string=1"], "longer than 55 bytes"),
])
def test_fw_cfg_bad_input(args, says):
    r = vt.run_guest("hello", *args)
    line = vt.one_error_line(r)
    assert says in line, str(r)

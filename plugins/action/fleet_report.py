# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_report: write report.json, report.md and report.html on the controller in one step.

Runs entirely in the controller's worker process: no connection to the host, no module, no temporary
files on any host. The documentation is in plugins/modules/fleet_report.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import stat
import tempfile

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.linuxns.pidns.plugins.plugin_utils._facts import FactsInputError
from ansible_collections.linuxns.pidns.plugins.plugin_utils._fleet import fleet
from ansible_collections.linuxns.pidns.plugins.plugin_utils._report import render_html, render_json, render_markdown

try:  # ansible-core 2.19+: template text read from a file must be marked as trusted to be rendered
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - ansible-core < 2.19
    trust_as_template = None

FORMATS = ("json", "md", "html")
FILE_NAMES = {"json": "report.json", "md": "report.md", "html": "report.html"}

ARGUMENT_SPEC = {
    "results": {"type": "dict", "required": True},
    "hosts": {"type": "list", "elements": "str"},
    "active": {"type": "list", "elements": "str"},
    "sandboxes": {"type": "dict"},
    "dest": {"type": "path", "required": True},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(FORMATS)},
    "title": {"type": "str", "default": "PID namespaces"},
    "processes": {"type": "bool", "default": False},
    "mode": {"type": "raw", "default": "0640"},
    "dir_mode": {"type": "raw"},
    "md_template": {"type": "path"},
    "html_template": {"type": "path"},
}


def parse_mode(value, option):
    """An octal mode given as a string ('0640') or as the number YAML makes of 0640; else fail."""
    if isinstance(value, bool):
        raise AnsibleActionFail("%s must be an octal mode such as '0640', got %r" % (option, value))
    if isinstance(value, int):
        mode = value
    else:
        text = to_text(value).strip()
        try:
            mode = int(text, 8)
        except ValueError:
            raise AnsibleActionFail("%s must be an octal mode such as '0640', got %r" % (option, value))
    if not 0 <= mode <= 0o7777:
        raise AnsibleActionFail("%s is out of range: %r" % (option, value))
    return mode


def _unsafe(data):  # pragma: no cover - ansible-core < 2.19
    from ansible.utils.unsafe_proxy import wrap_var
    return wrap_var(data)


def utc_now():
    """The report's `generated` time: UTC, to the second, like now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ')."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Mode of a dest directory the action creates, when dir_mode is not given.
DEFAULT_DIR_MODE = 0o755


def ensure_dir(path, mode, check_mode):
    """Make the report directory (or predict it). Its mode is set when it is made (mode, or
    DEFAULT_DIR_MODE when None), and on an existing one only when mode is given: a directory
    someone else made private stays private. True when something changed."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if not check_mode:
            os.makedirs(path, exist_ok=True)
            os.chmod(path, DEFAULT_DIR_MODE if mode is None else mode)
        return True
    if not stat.S_ISDIR(info.st_mode):
        raise AnsibleActionFail("dest %s exists and is not a directory" % path)
    if mode is not None and stat.S_IMODE(info.st_mode) != mode:
        if not check_mode:
            os.chmod(path, mode)
        return True
    return False


def write_file(path, text, mode):
    """Replace path atomically with text (a temporary file in the same directory, then rename)."""
    directory, name = os.path.split(path)
    handle, temp = tempfile.mkstemp(prefix=".%s." % name, dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(to_bytes(text, errors="surrogate_or_strict"))
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def _template_path(self, option, given):
        """The user's own template given in option (md_template, html_template), found like template's src."""
        try:
            return self._find_needle("templates", given)
        except AnsibleError as error:
            raise AnsibleActionFail("%s: %s" % (option, to_text(error)))

    def _render(self, path, variables):
        """Render the user's own Jinja template file the way ansible.builtin.template does (trim_blocks,
        trailing newline). The default report needs no template: plugin_utils/_report.py writes it."""
        source = self._loader.get_text_file_contents(path) if hasattr(self._loader, "get_text_file_contents") \
            else to_text(self._loader._get_file_contents(path)[0])
        searchpath = [os.path.dirname(path)]
        overrides = {"trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"}
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
        if trust_as_template is not None:
            rendered = templar.template(trust_as_template(source), escape_backslashes=False, overrides=overrides)
        else:  # pragma: no cover - ansible-core < 2.19
            rendered = templar.do_template(source, preserve_trailing_newlines=True, escape_backslashes=False,
                                           overrides=overrides)
        return "" if rendered is None else to_text(rendered)

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp

        unused, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        dest = args["dest"]
        formats = [fmt for fmt in FORMATS if fmt in args["formats"]]
        file_mode = parse_mode(args["mode"], "mode")
        dir_mode = None if args["dir_mode"] is None else parse_mode(args["dir_mode"], "dir_mode")
        templates = dict((fmt, self._template_path(fmt + "_template", args[fmt + "_template"]))
                         for fmt in ("md", "html") if fmt in formats and args[fmt + "_template"])

        try:
            data = fleet(args["results"], hosts=args["hosts"], active=args["active"], generated=utc_now(),
                         sandboxes=args["sandboxes"])
        except FactsInputError as error:
            raise AnsibleActionFail(to_text(error))

        texts = {"json": render_json(data)}
        if "md" in formats and "md" not in templates:
            texts["md"] = render_markdown(data, args["title"], processes=args["processes"])
        if "html" in formats and "html" not in templates:
            texts["html"] = render_html(data, args["title"])
        if templates:
            variables = dict(task_vars)
            # Host data is never template text: on ansible-core < 2.19 only an unsafe mark keeps the
            # templar from evaluating {{ }} in it (2.19+ trusts no variable value as a template).
            variables.update(pidns_report_data=data if trust_as_template is not None else _unsafe(data),
                             pidns_report_title=args["title"], pidns_report_processes=args["processes"])
            for fmt, path in templates.items():
                try:
                    texts[fmt] = self._render(path, variables)
                except AnsibleError as error:
                    raise AnsibleActionFail("cannot render %s from %s: %s" % (FILE_NAMES[fmt], path, to_text(error)))

        check_mode = bool(self._task.check_mode)
        paths = [os.path.join(dest, FILE_NAMES[fmt]) for fmt in formats]
        try:
            changed = ensure_dir(dest, dir_mode, check_mode)
            if not check_mode:
                for fmt, path in zip(formats, paths):
                    write_file(path, texts[fmt], file_mode)
        except OSError as error:
            raise AnsibleActionFail("cannot write the report into %s: %s" % (dest, to_native(error)))

        totals = data["totals"]
        counts = "%d ok, %d unreachable, %d failed" % (
            totals["ok"], totals["unreachable"], totals["failed"] + totals["dropped"])
        if "sandboxes" in totals:
            counts += "; %d sandboxes, %d broken" % (totals["sandboxes"], totals["sandboxes_broken"])
        result.update(
            changed=changed,
            dest=dest,
            files=paths,
            written=not check_mode,
            generated=data["generated"],
            totals=totals,
            msg="PID-namespace report of %d hosts (%s): %s" % (totals["hosts"], counts, dest),
        )
        return result

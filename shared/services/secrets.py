"""Secrets belong to a project. The rules:

- a name is what ``{{secret:NAME}}`` accepts, a value is 1 to 64 KiB of text (``shared/models/secrets.py``);
- write-only: a value goes in (``put``) and out only to a run of the same project (``resolve``), never
  through the API, which lists names and update times;
- ``{{secret:NAME}}`` resolves within the run's project only. A deployment-wide ``environment`` source
  (local mode's ``AUTOTEST_SECRET_<NAME>`` variables and secrets file) is a convenience of the bootstrap
  project alone, and the project's own stored secret of the same name wins over it.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.errors import InvalidInput, NotFound
from shared.models.secrets import SecretInfo, SecretPublic, name_problem, value_problem
from shared.observability import logger
from shared.ports import SecretSource, SecretStore


class SecretsNotDefined(InvalidInput):
    """A run references secrets its project does not have."""

    code = "secret_not_defined"


def _invalid(field: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{field}: {problem}", details=[{"loc": field, "msg": problem, "type": "value_error"}])


class Secrets:
    def __init__(
        self,
        store: SecretStore,
        *,
        environment: SecretSource | None = None,
        environment_project: str | None = None,
    ) -> None:
        if (environment is None) != (environment_project is None):
            raise ValueError("an environment secret source needs the one project that may use it, and back")
        self._store = store
        self._environment = environment
        self._environment_project = environment_project

    def _env_for(self, project_id: str) -> SecretSource | None:
        return self._environment if project_id == self._environment_project else None

    # ----------------------------------------------------------------------------- the API's

    def put_secret(self, project_id: str, name: str, value: str) -> SecretInfo:
        """Create or replace the project's secret ``name``."""
        self._check_name(name)
        problem = value_problem(value)
        if problem:
            raise _invalid("value", problem)
        info = self._store.put(project_id, name, value)
        logger.info("secret stored", project_id=project_id, secret=name)
        return info

    def list_secrets(self, project_id: str) -> list[SecretPublic]:
        """The secrets a run of the project can use: its own, and for the bootstrap project the
        environment's that none of its own overrides. Names and times only."""
        shown = {info.name: SecretPublic.stored(info) for info in self._store.list(project_id)}
        env = self._env_for(project_id)
        if env is not None:
            for name in env.names():
                shown.setdefault(name, SecretPublic(name=name, updated_at=None, source="environment"))
        return [shown[name] for name in sorted(shown)]

    def delete_secret(self, project_id: str, name: str) -> None:
        self._check_name(name)
        try:
            self._store.delete(project_id, name)
        except NotFound:
            env = self._env_for(project_id)
            if env is not None and env.get(name) is not None:
                raise NotFound(
                    f"secret {name} is not stored for this project: it comes from the environment "
                    f"(AUTOTEST_SECRET_{name} or the secrets file); remove it there"
                ) from None
            raise NotFound(f"secret {name} not found in this project") from None
        logger.info("secret deleted", project_id=project_id, secret=name)

    # ------------------------------------------------------------------------------ the runner's

    def resolve(self, project_id: str, names: Iterable[str]) -> dict[str, str]:
        """The values of the named secrets for a run of ``project_id``; SecretsNotDefined names every one
        the project does not have, and how to set it."""
        values: dict[str, str] = {}
        missing: list[str] = []
        env = self._env_for(project_id)
        for name in sorted(set(names)):
            value = self._store.get(project_id, name) if name_problem(name) is None else None
            if value is None and env is not None:
                value = env.get(name)
            if value is None:
                missing.append(name)
            else:
                values[name] = value
        if missing:
            raise SecretsNotDefined(self._missing_message(project_id, missing), details={"missing": missing})
        return values

    def _missing_message(self, project_id: str, missing: list[str]) -> str:
        if len(missing) == 1:
            name = missing[0]
            what = f"secret not defined in project {project_id}: {name}"
            how = f"set it with `autotest secrets set {name}` or PUT /v1/secrets/{name}"
        else:
            what = f"secrets not defined in project {project_id}: {', '.join(missing)}"
            how = "set each with `autotest secrets set NAME` or PUT /v1/secrets/NAME"
        if self._env_for(project_id) is not None:
            how += " (or, for this bootstrap project, AUTOTEST_SECRET_<NAME> or a NAME=value line in the secrets file)"
        invalid = [n for n in missing if name_problem(n) is not None]
        if invalid:
            how += f"; {', '.join(invalid)}: {name_problem(invalid[0])}"
        return f"{what} ({how})"

    @staticmethod
    def _check_name(name: str) -> None:
        problem = name_problem(name)
        if problem:
            raise _invalid("name", problem)

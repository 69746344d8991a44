"""`batchgui recipe`: saved setups (session/recipes.py).

save NAME [--from-batch ID | --file FILE] ─► the latest batch's settings (or
    that batch's, or a recipe file, checked) ─► <data>/recipes/NAME.toml
list ─► the saved names, each with its operation
show NAME|FILE ─► the recipe's TOML on stdout (redirect it to share it)
delete NAME ─► the file removed
"""

from __future__ import annotations

import argparse
import sys

from batchgui.cli import EXIT_OK, UsageError
from batchgui.cli.execute import open_store
from batchgui.operations.registry import load_operations
from batchgui.paths import data_dir
from batchgui.session import RunSettings
from batchgui.session.recipes import (
    RecipeError,
    find_recipe,
    load_recipe,
    recipe_path,
    recipe_text,
    save_recipe,
    saved_recipes,
)
from batchgui.store import StoreError


def recipe_command(args: argparse.Namespace) -> int:
    folder = data_dir(args.data_dir)
    operations = load_operations().operations
    try:
        if args.recipe_action == "list":
            for name in saved_recipes(folder):
                try:
                    operation = load_recipe(recipe_path(folder, name), operations).operation
                except RecipeError as exc:
                    operation = f"(cannot be used: {exc})"
                print(f"{name}\t{operation}")
            return EXIT_OK
        if args.recipe_action == "show":
            settings = load_recipe(find_recipe(folder, args.name), operations)
            sys.stdout.write(recipe_text(settings))
            return EXIT_OK
        if args.recipe_action == "delete":
            path = recipe_path(folder, args.name)
            if not path.exists():
                raise UsageError(f"no recipe {args.name!r} (see 'batchgui recipe list')")
            path.unlink()
            print(f"batchgui: deleted recipe {args.name}", file=sys.stderr)
            return EXIT_OK
        target = recipe_path(folder, args.name)
        if args.file:
            settings = load_recipe(find_recipe(folder, args.file), operations)
        else:
            settings = _settings_of_batch(args)
        save_recipe(target, settings)
    except RecipeError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write the recipe: {exc.strerror or exc}") from None
    print(f"batchgui: saved recipe {args.name} ({settings.operation}) in {target}", file=sys.stderr)
    return EXIT_OK


def _settings_of_batch(args: argparse.Namespace) -> RunSettings:
    store = open_store(args.data_dir)
    try:
        batch_id = args.from_batch
        if batch_id is None:
            ids = store.batch_ids()
            if not ids:
                raise UsageError("no batch yet to save the setup of (run one, or use --file)")
            batch_id = ids[0]
        batch = store.load_batch(batch_id, recover=False)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    return RunSettings.of_batch(batch)

from aiharness.cli.main import run

run()

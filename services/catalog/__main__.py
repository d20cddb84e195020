from services.catalog.bootstrap import build
from services.common.config import Config
from services.common.server import run

if __name__ == "__main__":
    run(build, Config.from_env("catalog"))

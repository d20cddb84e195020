from services.common.config import Config
from services.common.server import run
from services.store.bootstrap import build

if __name__ == "__main__":
    run(build, Config.from_env("store"))

